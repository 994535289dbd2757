/*
 * unsub.c: ad marker, unsubscribe token, URL, List-Unsubscribe values and
 * the localized footer and page texts (DESIGN.md section 6). Pure: the
 * worker calls it while rendering a message, the web endpoint to check a
 * token and word its page. It must not read config, clocks or files; the
 * HMAC key and configured strings come from the caller.
 */
#include "unsub.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAC_LABEL       "sesd-unsub"
#define MAC_LABEL_LEN   (sizeof(MAC_LABEL) - 1)
#define PAYLOAD_MIN     (1 + 8 + 8 + 1 + 1 + 1 + 1)
#define TOKEN_BYTES_MAX (UNSUB_PAYLOAD_MAX + UNSUB_MAC_LEN)
#define HDR_LINE_MAX    998 /* RFC 5322 2.1.1, without CRLF */
#define MAILTO_SUBJECT  "?subject=unsubscribe%20"

static int field_ok(const char *, size_t, size_t);
static int key_ok(size_t);
static void put_u64(unsigned char *, uint64_t);
static uint64_t get_u64(const unsigned char *);
static void token_mac(const unsigned char *, size_t, const unsigned char *,
    size_t, unsigned char *);
static void b64url_encode(struct buf *, const unsigned char *, size_t);
static int b64url_value(unsigned char);
static long b64url_decode(unsigned char *, size_t, const char *, size_t);
static int token_chars_ok(const char *);
static int url_byte_ok(unsigned char);
static int has_ctl(const char *);
static void html_escape(struct buf *, const char *, size_t);
static void buf_truncate(struct buf *, size_t);

/*
 * The texts of every language. Footers: a sentence with a link, short
 * and polite. Page: title, what the button does, button, after the POST,
 * and the answer to a bad link. No < > & " anywhere (tests check).
 */
static const struct unsub_texts texts[] = {
    {
	.code = "1",
	.lang = "zh-CN",
	.dir = "ltr",
	.footer_text = "如果您不想再收到此类邮件，请点击以下链接退订：",
	.footer_before = "如果您不想再收到此类邮件，请",
	.footer_link = "点击这里退订",
	.footer_after = "。",
	.title = "退订邮件",
	.explain = "点击下方按钮后，{{email}} 将不再收到来自 {{domain}} "
		   "的邮件。",
	.button = "确认退订",
	.done = "您已成功退订，{{email}} 将不再收到来自 {{domain}} 的邮件。",
	.invalid = "此退订链接无效，请使用最近一封邮件中的链接。",
    },
    {
	.code = "2",
	.lang = "en",
	.dir = "ltr",
	.footer_text = "If you no longer wish to receive these emails, you "
		       "can unsubscribe here:",
	.footer_before = "If you no longer wish to receive these emails, you "
			 "can ",
	.footer_link = "unsubscribe here",
	.footer_after = ".",
	.title = "Unsubscribe",
	.explain = "Click the button below to stop receiving emails from "
		   "{{domain}} at {{email}}.",
	.button = "Unsubscribe",
	.done = "You have been unsubscribed. {{email}} will no longer "
		"receive emails from {{domain}}.",
	.invalid = "This unsubscribe link is not valid. Please use the link "
		   "in the most recent email.",
    },
    {
	.code = "3",
	.lang = "zh-TW",
	.dir = "ltr",
	.footer_text = "如果您不想再收到這類電子郵件，請點選以下連結取消訂閱：",
	.footer_before = "如果您不想再收到這類電子郵件，請",
	.footer_link = "點選這裡取消訂閱",
	.footer_after = "。",
	.title = "取消訂閱",
	.explain = "點選下方按鈕後，{{email}} 將不再收到來自 {{domain}} "
		   "的電子郵件。",
	.button = "確認取消訂閱",
	.done = "您已成功取消訂閱，{{email}} 將不再收到來自 {{domain}} "
		"的電子郵件。",
	.invalid = "此取消訂閱連結無效，請使用最近一封郵件中的連結。",
    },
    {
	.code = "4",
	.lang = "es",
	.dir = "ltr",
	.footer_text = "Si ya no desea recibir estos correos electrónicos, "
		       "puede darse de baja aquí:",
	.footer_before = "Si ya no desea recibir estos correos electrónicos, "
			 "puede ",
	.footer_link = "darse de baja aquí",
	.footer_after = ".",
	.title = "Cancelar suscripción",
	.explain = "Haga clic en el botón de abajo para dejar de recibir "
		   "correos electrónicos de {{domain}} en {{email}}.",
	.button = "Cancelar suscripción",
	.done = "Su suscripción se ha cancelado. {{email}} ya no recibirá "
		"correos electrónicos de {{domain}}.",
	.invalid = "Este enlace para cancelar la suscripción no es válido. "
		   "Utilice el enlace del correo más reciente.",
    },
    {
	.code = "5",
	.lang = "fr",
	.dir = "ltr",
	/* French puts a no-break space (U+00A0) before a colon */
	.footer_text = "Si vous ne souhaitez plus recevoir ces e-mails, vous "
		       "pouvez vous désabonner ici\xc2\xa0:",
	.footer_before = "Si vous ne souhaitez plus recevoir ces e-mails, "
			 "vous pouvez ",
	.footer_link = "vous désabonner ici",
	.footer_after = ".",
	.title = "Désabonnement",
	.explain = "Cliquez sur le bouton ci-dessous pour ne plus recevoir "
		   "d'e-mails de {{domain}} à l'adresse {{email}}.",
	.button = "Se désabonner",
	.done = "Votre désabonnement a bien été pris en compte. {{email}} "
		"ne recevra plus d'e-mails de {{domain}}.",
	.invalid = "Ce lien de désabonnement n'est pas valide. Veuillez "
		   "utiliser le lien du dernier e-mail reçu.",
    },
    {
	.code = "6",
	.lang = "de",
	.dir = "ltr",
	.footer_text = "Wenn Sie diese E-Mails nicht mehr erhalten möchten, "
		       "können Sie sich hier abmelden:",
	.footer_before = "Wenn Sie diese E-Mails nicht mehr erhalten "
			 "möchten, können Sie sich ",
	.footer_link = "hier abmelden",
	.footer_after = ".",
	.title = "Abmelden",
	.explain = "Klicken Sie auf die Schaltfläche unten, um keine E-Mails "
		   "mehr von {{domain}} an {{email}} zu erhalten.",
	.button = "Abmelden",
	.done = "Sie wurden erfolgreich abgemeldet. {{email}} erhält keine "
		"E-Mails mehr von {{domain}}.",
	.invalid = "Dieser Abmeldelink ist ungültig. Bitte verwenden Sie den "
		   "Link aus der neuesten E-Mail.",
    },
    {
	.code = "7",
	.lang = "ja",
	.dir = "ltr",
	.footer_text = "今後このようなメールの受信を希望されない場合は、"
		       "以下のリンクから配信を停止できます。",
	.footer_before = "今後このようなメールの受信を希望されない場合は、",
	.footer_link = "こちら",
	.footer_after = "から配信を停止できます。",
	.title = "配信停止",
	.explain = "下のボタンを押すと、{{email}} 宛ての {{domain}} "
		   "からのメール配信が停止されます。",
	.button = "配信を停止する",
	.done = "配信停止の手続きが完了しました。今後、{{email}} 宛てに "
		"{{domain}} からのメールは届きません。",
	.invalid = "この配信停止リンクは無効です。最新のメールに記載された"
		   "リンクをご利用ください。",
    },
    {
	.code = "8",
	.lang = "ko",
	.dir = "ltr",
	.footer_text = "더 이상 이러한 이메일을 받지 않으시려면 아래 "
		       "링크에서 수신을 거부하실 수 있습니다.",
	.footer_before = "더 이상 이러한 이메일을 받지 않으시려면 ",
	.footer_link = "여기",
	.footer_after = "에서 수신을 거부하실 수 있습니다.",
	.title = "수신 거부",
	.explain = "아래 버튼을 누르면 {{email}} 주소로 {{domain}}에서 "
		   "보내는 이메일을 더 이상 받지 않습니다.",
	.button = "수신 거부",
	.done = "수신 거부가 완료되었습니다. 앞으로 {{email}} 주소로 "
		"{{domain}}의 이메일이 발송되지 않습니다.",
	.invalid = "유효하지 않은 수신 거부 링크입니다. 가장 최근에 받은 "
		   "이메일의 링크를 이용해 주세요.",
    },
    {
	.code = "9",
	.lang = "ar",
	.dir = "rtl",
	.footer_text = "إذا كنت لا ترغب في تلقي رسائل البريد الإلكتروني هذه "
		       "بعد الآن، يمكنك إلغاء الاشتراك من هنا:",
	.footer_before = "إذا كنت لا ترغب في تلقي رسائل البريد الإلكتروني "
			 "هذه بعد الآن، يمكنك ",
	.footer_link = "إلغاء الاشتراك من هنا",
	.footer_after = ".",
	.title = "إلغاء الاشتراك",
	.explain = "انقر على الزر أدناه لإيقاف تلقي رسائل البريد الإلكتروني "
		   "من {{domain}} على العنوان {{email}}.",
	.button = "إلغاء الاشتراك",
	.done = "تم إلغاء اشتراكك. لن يتلقى العنوان {{email}} بعد الآن "
		"رسائل من {{domain}}.",
	.invalid = "رابط إلغاء الاشتراك هذا غير صالح. يُرجى استخدام الرابط "
		   "الموجود في أحدث رسالة.",
    },
    {
	.code = "10",
	.lang = "th",
	.dir = "ltr",
	/* Thai ends a sentence without a full stop */
	.footer_text = "หากคุณไม่ต้องการรับอีเมลเหล่านี้อีกต่อไป "
		       "สามารถยกเลิกการรับอีเมลได้ที่ลิงก์ด้านล่าง",
	.footer_before = "หากคุณไม่ต้องการรับอีเมลเหล่านี้อีกต่อไป สามารถ",
	.footer_link = "ยกเลิกการรับอีเมลได้ที่นี่",
	.footer_after = "",
	.title = "ยกเลิกการรับอีเมล",
	.explain = "คลิกปุ่มด้านล่างเพื่อหยุดรับอีเมลจาก {{domain}} "
		   "ที่ส่งถึง {{email}}",
	.button = "ยกเลิกการรับอีเมล",
	.done = "ยกเลิกการรับอีเมลเรียบร้อยแล้ว {{email}} "
		"จะไม่ได้รับอีเมลจาก {{domain}} อีกต่อไป",
	.invalid = "ลิงก์ยกเลิกการรับอีเมลนี้ไม่ถูกต้อง "
		   "โปรดใช้ลิงก์จากอีเมลฉบับล่าสุด",
    },
    {
	.code = "11",
	.lang = "id",
	.dir = "ltr",
	.footer_text = "Jika Anda tidak ingin menerima email ini lagi, Anda "
		       "dapat berhenti berlangganan di sini:",
	.footer_before = "Jika Anda tidak ingin menerima email ini lagi, "
			 "Anda dapat ",
	.footer_link = "berhenti berlangganan di sini",
	.footer_after = ".",
	.title = "Berhenti berlangganan",
	.explain = "Klik tombol di bawah ini untuk berhenti menerima email "
		   "dari {{domain}} di alamat {{email}}.",
	.button = "Berhenti berlangganan",
	.done = "Anda telah berhenti berlangganan. {{email}} tidak akan lagi "
		"menerima email dari {{domain}}.",
	.invalid = "Tautan berhenti berlangganan ini tidak valid. Silakan "
		   "gunakan tautan dari email terbaru.",
    },
    {
	.code = "12",
	.lang = "vi",
	.dir = "ltr",
	.footer_text = "Nếu bạn không muốn nhận những email này nữa, bạn có "
		       "thể hủy đăng ký tại đây:",
	.footer_before = "Nếu bạn không muốn nhận những email này nữa, bạn "
			 "có thể ",
	.footer_link = "hủy đăng ký tại đây",
	.footer_after = ".",
	.title = "Hủy đăng ký",
	.explain = "Nhấn vào nút bên dưới để ngừng nhận email từ {{domain}} "
		   "tại địa chỉ {{email}}.",
	.button = "Hủy đăng ký",
	.done = "Bạn đã hủy đăng ký thành công. {{email}} sẽ không còn nhận "
		"email từ {{domain}} nữa.",
	.invalid = "Liên kết hủy đăng ký này không hợp lệ. Vui lòng sử dụng "
		   "liên kết trong email gần đây nhất.",
    },
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* --- ad marker --- */

int
unsub_subject(
    struct buf *out, const char *subject, int ad_location, const char *marker)
{
	if (subject == NULL || has_crlf(subject))
		return -1;
	if (ad_location == 0) {
		buf_adds(out, subject);
		return 0;
	}
	if (ad_location != 1 && ad_location != 2)
		return -1;
	if (marker == NULL || *marker == '\0' || has_crlf(marker))
		return -1;
	if (ad_location == 1) {
		buf_adds(out, marker);
		if (*subject)
			buf_addc(out, ' ');
		buf_adds(out, subject);
	} else {
		buf_adds(out, subject);
		if (*subject)
			buf_addc(out, ' ');
		buf_adds(out, marker);
	}
	return 0;
}

/* --- token --- */

/* 1..max bytes of UTF-8 without control characters (NUL included). */
static int
field_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || !utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
key_ok(size_t key_len)
{
	return key_len >= UNSUB_KEY_MIN && key_len <= UNSUB_KEY_MAX;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The first UNSUB_MAC_LEN bytes of HMAC-SHA256(key, label || payload). */
static void
token_mac(const unsigned char *key, size_t key_len, const unsigned char *p,
    size_t n, unsigned char *mac)
{
	unsigned char msg[MAC_LABEL_LEN + UNSUB_PAYLOAD_MAX];
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int full_len = 0;

	memcpy(msg, MAC_LABEL, MAC_LABEL_LEN);
	memcpy(msg + MAC_LABEL_LEN, p, n);
	if (HMAC(EVP_sha256(), key, (int)key_len, msg, MAC_LABEL_LEN + n, full,
		&full_len) == NULL ||
	    full_len != 32)
		fatalx("unsub: HMAC-SHA256 failed");
	memcpy(mac, full, UNSUB_MAC_LEN);
	OPENSSL_cleanse(full, sizeof(full));
}

static void
b64url_encode(struct buf *out, const unsigned char *p, size_t n)
{
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		size_t k = n - i < 3 ? n - i : 3;
		uint32_t v = (uint32_t)p[i] << 16;
		if (k > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		q[0] = b64url[(v >> 18) & 63];
		q[1] = b64url[(v >> 12) & 63];
		q[2] = b64url[(v >> 6) & 63];
		q[3] = b64url[v & 63];
		buf_add(out, q, k + 1);
	}
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Canonical unpadded base64url only: no padding, no other characters, and
 * the bits a short last group drops must be zero, so one byte string has
 * exactly one encoding. Returns the decoded length, or -1.
 */
static long
b64url_decode(unsigned char *out, size_t cap, const char *in, size_t n)
{
	size_t o = 0;

	if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		size_t k = n - i < 4 ? n - i : 4;
		uint32_t v = 0;
		for (size_t j = 0; j < 4; j++) {
			int x =
			    j < k ? b64url_value((unsigned char)in[i + j]) : 0;
			if (x < 0)
				return -1;
			v = v << 6 | (uint32_t)x;
		}
		if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff)))
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (k > 2)
			out[o++] = (unsigned char)(v >> 8);
		if (k > 3)
			out[o++] = (unsigned char)v;
	}
	return (long)o;
}

int
unsub_token_make(struct buf *out, const struct unsub_fields *f,
    const unsigned char *key, size_t key_len)
{
	unsigned char tok[TOKEN_BYTES_MAX];
	size_t dlen = strnlen(f->domain, sizeof(f->domain));
	size_t rlen = strnlen(f->rcpt, sizeof(f->rcpt));
	size_t n = 0;

	if (!key_ok(key_len) || !field_ok(f->domain, dlen, UNSUB_DOMAIN_MAX) ||
	    !field_ok(f->rcpt, rlen, UNSUB_RCPT_MAX))
		return -1;
	tok[n++] = UNSUB_TOKEN_V1;
	put_u64(tok + n, f->app_id);
	n += 8;
	put_u64(tok + n, f->task_id);
	n += 8;
	tok[n++] = (unsigned char)dlen;
	memcpy(tok + n, f->domain, dlen);
	n += dlen;
	tok[n++] = (unsigned char)rlen;
	memcpy(tok + n, f->rcpt, rlen);
	n += rlen;
	token_mac(key, key_len, tok, n, tok + n);
	b64url_encode(out, tok, n + UNSUB_MAC_LEN);
	return 0;
}

int
unsub_token_check(const char *token, const unsigned char *key, size_t key_len,
    struct unsub_fields *out)
{
	unsigned char tok[TOKEN_BYTES_MAX], mac[UNSUB_MAC_LEN];
	size_t tlen, plen, dlen, rlen, at;
	long n;

	memset(out, 0, sizeof(*out));
	if (token == NULL || !key_ok(key_len))
		return -1;
	tlen = strnlen(token, UNSUB_TOKEN_MAX + 1);
	if (tlen > UNSUB_TOKEN_MAX)
		return -1;
	n = b64url_decode(tok, sizeof(tok), token, tlen);
	if (n < (long)(PAYLOAD_MIN + UNSUB_MAC_LEN) || tok[0] != UNSUB_TOKEN_V1)
		return -1;
	plen = (size_t)n - UNSUB_MAC_LEN;
	token_mac(key, key_len, tok, plen, mac);
	if (CRYPTO_memcmp(mac, tok + plen, UNSUB_MAC_LEN) != 0)
		return -1;

	/* MACed by us, but parsed as strictly as anything untrusted */
	at = 17;
	dlen = tok[at++];
	if (at + dlen + 1 > plen)
		return -1;
	const char *domain = (const char *)tok + at;
	at += dlen;
	rlen = tok[at++];
	if (at + rlen != plen)
		return -1;
	const char *rcpt = (const char *)tok + at;
	if (!field_ok(domain, dlen, UNSUB_DOMAIN_MAX) ||
	    !field_ok(rcpt, rlen, UNSUB_RCPT_MAX))
		return -1;
	out->app_id = get_u64(tok + 1);
	out->task_id = get_u64(tok + 9);
	memcpy(out->domain, domain, dlen);
	memcpy(out->rcpt, rcpt, rlen);
	return 0;
}

/* --- URL and headers --- */

/* 1..UNSUB_TOKEN_MAX characters of the base64url alphabet. */
static int
token_chars_ok(const char *t)
{
	size_t n = strnlen(t, UNSUB_TOKEN_MAX + 1);

	if (n == 0 || n > UNSUB_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (b64url_value((unsigned char)t[i]) < 0)
			return 0;
	return 1;
}

/*
 * Printable ASCII that may stand in a URL given to a mail client in a
 * header's <...> and in an href: no blank, no quote or angle bracket, and
 * no '?' or '#', which would swallow the path appended after it.
 */
static int
url_byte_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"<>\\^`{|}?#", c) == NULL;
}

static int
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
unsub_url(struct buf *out, const char *public_url, const char *token)
{
	size_t n, scheme;

	if (public_url == NULL || token == NULL || !token_chars_ok(token))
		return -1;
	if (strncasecmp(public_url, "https://", 8) == 0)
		scheme = 8;
	else if (strncasecmp(public_url, "http://", 7) == 0)
		scheme = 7;
	else
		return -1;
	n = strnlen(public_url, UNSUB_PUBLIC_URL_MAX + 1);
	if (n > UNSUB_PUBLIC_URL_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!url_byte_ok((unsigned char)public_url[i]))
			return -1;
	while (n > scheme && public_url[n - 1] == '/')
		n--;
	if (n == scheme)
		return -1;
	buf_add(out, public_url, n);
	buf_adds(out, "/unsubscribe?t=");
	buf_adds(out, token);
	return 0;
}

int
unsub_list_unsubscribe(
    struct buf *out, const char *url, const char *mailto, const char *token)
{
	size_t start = out->len;
	int with_mailto = mailto != NULL && *mailto != '\0';
	/* the first element shares its line with the field name and a ',' */
	size_t room = HDR_LINE_MAX - strlen(UNSUB_HDR_LIST ": ") - with_mailto;

	if (url == NULL || *url == '\0' || has_ctl(url) ||
	    strpbrk(url, " <>") != NULL)
		return -1;
	if (strlen(url) + 2 > room)
		return -1;
	buf_addc(out, '<');
	buf_adds(out, url);
	buf_addc(out, '>');
	if (!with_mailto)
		return 0;
	if (!email_valid(mailto, UNSUB_RCPT_MAX) || token == NULL ||
	    !token_chars_ok(token)) {
		buf_truncate(out, start);
		return -1;
	}
	/* a folded line: one blank, then the element */
	if (1 + strlen("<mailto:") + strlen(mailto) + strlen(MAILTO_SUBJECT) +
		strlen(token) + 1 >
	    HDR_LINE_MAX) {
		buf_truncate(out, start);
		return -1;
	}
	buf_adds(out, ", <mailto:");
	buf_adds(out, mailto);
	buf_adds(out, MAILTO_SUBJECT);
	buf_adds(out, token);
	buf_addc(out, '>');
	return 0;
}

/* --- footers and page texts --- */

static void
html_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		default:
			buf_addc(out, s[i]);
		}
	}
}

/* Drops what was appended after len (buf has no such helper). */
static void
buf_truncate(struct buf *b, size_t len)
{
	if (b->data == NULL)
		return;
	b->len = len;
	b->data[len] = '\0';
}

const struct unsub_texts *
unsub_texts(const char *lang_code)
{
	if (lang_code == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(texts[i].code, lang_code) == 0)
			return &texts[i];
	return NULL;
}

int
unsub_footer(struct buf *out, const char *lang_code, int html, const char *url)
{
	const struct unsub_texts *t = unsub_texts(lang_code);

	if (t == NULL || url == NULL || *url == '\0' || has_ctl(url))
		return -1;
	if (!html) {
		buf_adds(out, t->footer_text);
		buf_addc(out, '\n');
		buf_adds(out, url);
		buf_addc(out, '\n');
		return 0;
	}
	buf_addf(out, "<p lang=\"%s\"", t->lang);
	if (strcmp(t->dir, "rtl") == 0)
		buf_adds(out, " dir=\"rtl\"");
	buf_addc(out, '>');
	buf_adds(out, t->footer_before);
	buf_adds(out, "<a href=\"");
	html_escape(out, url, strlen(url));
	buf_adds(out, "\">");
	buf_adds(out, t->footer_link);
	buf_adds(out, "</a>");
	buf_adds(out, t->footer_after);
	buf_adds(out, "</p>\n");
	return 0;
}

int
unsub_texts_expand(
    struct buf *out, const char *text, const char *domain, const char *email)
{
	static const char dvar[] = "{{domain}}", evar[] = "{{email}}";
	const char *p = text;

	if (text == NULL || domain == NULL || email == NULL ||
	    !utf8_valid(domain, strlen(domain)) ||
	    !utf8_valid(email, strlen(email)))
		return -1;
	while (*p) {
		const char *val = NULL;
		size_t skip = 0;
		if (strncmp(p, dvar, sizeof(dvar) - 1) == 0) {
			val = domain;
			skip = sizeof(dvar) - 1;
		} else if (strncmp(p, evar, sizeof(evar) - 1) == 0) {
			val = email;
			skip = sizeof(evar) - 1;
		}
		if (val == NULL) {
			buf_addc(out, *p++);
			continue;
		}
		buf_adds(out, "<bdi>");
		html_escape(out, val, strlen(val));
		buf_adds(out, "</bdi>");
		p += skip;
	}
	return 0;
}
