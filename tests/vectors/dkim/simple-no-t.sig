DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;
	bh=6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0=;
	b=SGLvAIKctNCn35OOCsmyBOnLeksH2is4BQg3fJZDiUEgBef/TA83fvbQgcybnNdUYXKsyJFU3yk
	CdRGjkCMeI6CKg0jqrgJgnrGa+w/lVH7FThy3KnacffGILvz8mwNkZ/BmIgWCG4zdGcwKFglfazqS
	1N5iewrAO34KE0KBw35+Y4BpzX/iUIuJNZFir/GXiy5kOq5eGqP055Y7ld5nonT15/tdMYyvQGEuL
	6FwkR9PgBiumShZd7Uzci2ZbNTJ6r3lyBQ3ejczRf4fMpFnZmoHCJfeuMperMKuRh1yx7Hz4v5EPS
	+2rxk3bkTZllOUL+QdR9VwJ7J4qjq4iC6VLg==
