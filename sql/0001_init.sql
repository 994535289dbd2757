-- 0001_init: accounts' sending set-up: identities, sender addresses,
-- templates, recipient lists and suppressions (the custom blacklist).
-- Every row belongs to one account (app_id, the AppId of the credential
-- that created it); every query filters on it.

CREATE TABLE email_identities (
	id               bigserial PRIMARY KEY,
	app_id           bigint NOT NULL,
	domain           text NOT NULL,
	dkim_option      smallint NOT NULL DEFAULT 0
	                 CHECK (dkim_option IN (0, 1, 2)),
	dkim_selector    text NOT NULL,
	dkim_private_key text NOT NULL,      -- PEM, PKCS#8
	dkim_public_key  text NOT NULL,      -- base64 DER SubjectPublicKeyInfo
	verified         boolean NOT NULL DEFAULT false,
	tags             jsonb NOT NULL DEFAULT '[]',
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now()
);
-- A domain belongs to one account (InvalidParameterValue.CreatedByOther).
CREATE UNIQUE INDEX email_identities_domain ON email_identities (lower(domain));
CREATE INDEX email_identities_app ON email_identities (app_id);

CREATE TABLE email_addresses (
	id          bigserial PRIMARY KEY,
	app_id      bigint NOT NULL,
	identity_id bigint NOT NULL REFERENCES email_identities ON DELETE RESTRICT,
	address     text NOT NULL,
	sender_name text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX email_addresses_address ON email_addresses (app_id, lower(address));

-- status: 0 approved, 1 under review, 2 rejected (TemplateStatus).
CREATE TABLE templates (
	id            bigserial PRIMARY KEY,
	app_id        bigint NOT NULL,
	name          text NOT NULL,
	html          text,                  -- decoded TemplateContent.Html
	text_body     text,                  -- decoded TemplateContent.Text
	variables     text[] NOT NULL DEFAULT '{}',  -- {{names}} found, sorted
	status        smallint NOT NULL CHECK (status IN (0, 1, 2)),
	review_reason text NOT NULL DEFAULT '',
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	CHECK (html IS NOT NULL OR text_body IS NOT NULL)
);
CREATE INDEX templates_app ON templates (app_id, id);

-- status: 1 pending upload, 2 uploading, 3 complete (ReceiversStatus).
CREATE TABLE receivers (
	id               bigserial PRIMARY KEY,
	app_id           bigint NOT NULL,
	name             text NOT NULL,
	description      text NOT NULL DEFAULT '',
	status           smallint NOT NULL DEFAULT 1 CHECK (status IN (1, 2, 3)),
	count            integer NOT NULL DEFAULT 0,
	data_keys        text[],             -- key set of per-recipient data, NULL: none yet
	upload_started   timestamptz,        -- when status became 2
	created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX receivers_name ON receivers (app_id, name);

-- An address is unique within its list (RepeatCount counts the others).
-- template_data is the caller's JSON text, kept byte for byte.
CREATE TABLE receiver_details (
	id            bigserial PRIMARY KEY,
	receiver_id   bigint NOT NULL REFERENCES receivers ON DELETE CASCADE,
	email         text NOT NULL,
	template_data text,
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX receiver_details_email ON receiver_details (receiver_id, lower(email));

-- Recipients never to be mailed: 'custom' is the account's own blacklist
-- (CreateCustomBlacklist; domain NULL = every sender domain, expire_date
-- NULL = permanent); 'unsubscribe' and 'bounce' are added by delivery.
CREATE TABLE suppressions (
	id          bigserial PRIMARY KEY,
	app_id      bigint NOT NULL,
	reason      text NOT NULL CHECK (reason IN ('custom', 'unsubscribe', 'bounce')),
	domain      text,                    -- sender domain, NULL: all
	email       text NOT NULL,
	expire_date date,
	detail      text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX suppressions_key
	ON suppressions (app_id, reason, coalesce(domain, ''), lower(email));
CREATE INDEX suppressions_email ON suppressions (app_id, lower(email));

-- Operators approve or reject templates when [templates] review = manual:
--   SELECT sesd_template_review(42, true, 'ok');
CREATE FUNCTION sesd_template_review(template_id bigint, approve boolean,
    reason text DEFAULT '') RETURNS boolean LANGUAGE sql AS $$
	UPDATE templates
	   SET status = CASE WHEN approve THEN 0 ELSE 2 END,
	       review_reason = coalesce(reason, ''), updated_at = now()
	 WHERE id = template_id
	RETURNING true;
$$;
