DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	t=0; h=From:To:Subject:Date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
	b=S5Nh598kocfDgFkbpzfmpTmgC4pPStsC9gVzw8z+i9scnw7z/RDkiuV4WcyrOnIVcnR6TN5B6xz
	aIDSRtfYeLByuXTvYLly/FcNL7Z88Bx5+kXv+zkFcrz0cOfMPPwg6MYaILdhy38Fc/mSvrxCu6zKn
	88W5oMZlhLjQYvgx8z19RrOrzGwLtCPSN58SZSlo0FIS5JW/t46QVDwPmL1U87aq0jk+l+E2FGgEM
	y/LpTHuTzMXDsZsVsBzWsg7j6jy/oGwScIruBZ+r8YzS3oF5y8vYHrq9xqTGEfg2bFgtQYXcPi0d/
	PaynCVwCYRATDslznxh8jAtyvOoByAzWNbWw==
