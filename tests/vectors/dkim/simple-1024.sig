DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=mail;
	t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;
	bh=6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0=;
	b=csyKFRTuNmexL4cLVqSAZZLzFzf+bvH7TTv3CcHEFdsMO9ph37YCi8lDHlkkT3bisSZ4ZJXjZTe
	pT12aBqtqPu0/BajoI//qePEhEhW0GY7m5Y7TNsgvjKCp/x1basoycWeWq6d4tESSQd+Zjb/awskh
	Lp/5UHtbza/chM1ziUk=
