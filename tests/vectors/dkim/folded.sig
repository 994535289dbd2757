DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:
	List-Unsubscribe; bh=JaujFpCKlSL9orsvfpgBrgoraArKFDHD8YAnd/sp4tg=;
	b=n0cZW9gJrSCU2T2KA/fTQA3C75J4rtehVSSQywT+spsXnuogmJcSpEn9ILRBmRpHUj96myuiiEI
	P5qHUEXhgI+gePMifWJ2LD2LSei7j1C36oBYGqfeu5bhF4bFfcURYSvtMNdtDg8Qjbwf7ZdC8VdqV
	z2HGWP/+wIjdycb6YzZyBXE4yIUCVbZGoPCAJY8s5UYvehvsdV5OQTX1wnXU1BZsXbch3fE4RUNjv
	1UTI99TLX/q/zHXeCeX0A9GC7AJhHJcc84kYhYhpfXpzdbCw/G+OpCb8NyBzO/ZYPLrw32kFqB5q9
	3nKtseBtSDd/O7CzFIdMzkPQiwhxgxlaFXrQ==
