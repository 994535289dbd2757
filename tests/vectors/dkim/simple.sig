DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;
	bh=6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0=;
	b=w274AxukGMUOYhBcYm0dmr1KolXyuSVgE+uJTf3SZ9PngrwXA6gY8sy5nzqT4+O/SoDKu+flG/H
	j38ylTzVp15c0/1WFOtVB6u4xH5NSWYCRHIZjhkXTz+CGhpKCzVPU9e0fJjihVweFUYydk1ojEwNw
	tZghzy4aSWzw7OqgvwNvlH0yZDe7Hbnw/VvocmVOgyBUp5DjMPEauTq9u9B8FVqdCG0ulGvfBTLgr
	er+NP1vhqLAbtw9Hc5lN0gbJalZL/8WnLrniTDEX392ga06sP0s1bfcz+EHw6WpKiwYk6TSlIDQm5
	Dbc/3B/xwzh2E3I/WdqT4H1EpsZxYaFGKutA==
