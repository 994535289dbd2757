DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=mail.example.com;
	s=qcloud; t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:
	Content-Type:List-Unsubscribe:List-Unsubscribe-Post;
	bh=yFFHiU4f9FnGtA36T8iFrub10pqOcekALITEwM608KE=;
	b=lmlmyls9Jp+HDmt5DobZfKY1abPXAVyDEpDP+8TodiTt7V0Xw50lgmYcm39j/KbOyk5CfOTN8Uq
	APx/s6HhaX/VqyxN5C9Rh7tRaEXsRkDcFCyS2OxDSnVz8cg/n1OvDyVeHUxWhMfB6oTI+djaubUcr
	uRpQekP8QanXgq9up91muaItvRDZxr1ncX8Cf8N68vaidQ9ZGim18TnrCE8OQQO4/LuWy98Hk29vw
	lKPGKPyYYzRIRXblcYwXujJ66UZUxdnB8hJb4UL3NSrym7zcktH9Rt495V6zD2TvxRRdsnzm9FbB+
	cOr4q9fHNiCCiw9no9vNXgCEtXOXQM0STx1w==
