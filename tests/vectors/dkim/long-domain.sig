DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
	d=a-rather-long-subdomain-label-for-folding-tests.mail.example.com;
	s=selector-2048.eu-west; t=1764144000; h=From:To:Subject:Date:Message-ID:
	MIME-Version:Content-Type; bh=6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0=;
	b=kbRU+N/heAQKXfbHBOa0XDvgqIJM+17rMBwEGQ5xDZT/bPWLzn8mIKuamRtn4c37bCKotT75YQV
	xtbZqdbrnRXBAA7zNfp/kKdAEfkhBICh/P19O+U8hP6dMCuPEUnAoqIjV0wGsO8ccAh+fiuNbpvf8
	3MZDhH1rI3hfh3tLt+hjiDPatuEy1bha3NKPoIj6CDmLugYQFtCAgG8iDWvgoH3Y/qdsSVhc345op
	eSgJ8yr7aYPpTVIo9vLU1mvEfPc02wJPG2shQrruvxnSrF5IMl2U285Arnxo70i/TMGQl9cBcQYq/
	xo1V4uTLXM/8KlvFwr0OWdR67HfWj5ZhPQug==
