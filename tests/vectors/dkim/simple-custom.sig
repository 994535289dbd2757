DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1.eu;
	t=1764144000; h=From:Subject:Content-Transfer-Encoding;
	bh=6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0=;
	b=z7usQV1p9HYsOlfdjqvVb+4hmvNNmiYrAG3tru9JeblvCF3KNxZTppp5UQvUZvkYkMrk3K1VmXq
	TdaAUSX6KzNmzs7IhWxmHsvVD+0VN6VgE6sIwjfGqNGhjHo6lP0aaG7gbeoSCKc28nxBYvpTwz1fe
	AM/paY+irGxtR+2oeWlYUvn5DwAZCfURKxDPK3cf+DVyLT3G0oZAAR+zPAmtG8pUIgpH0FqTfRIXs
	j5mE5/+snCpP+FwMdQjvDS0PkMQ8bEcJdtwByYwEfD808sWJkhl8O5tCxUYuerqhUgsU/+RmVAp9L
	zTlTdS0Scn7pO5iR+EMfbSKXOlU2B5nWIrUA==
