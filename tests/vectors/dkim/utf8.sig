DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=mail.example.com;
	s=qcloud; t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:
	Content-Type:List-Unsubscribe:List-Unsubscribe-Post;
	bh=5TnHZ20jYhKm9rX+8mifFu3WN00co4BsOxwxBIR4H+A=;
	b=vWIVKrFMFn8zTdr6S5IeFiI4j4noAsKQPojhtdS4HGPq+9uj8RoeT5v5kX4A2G04xsXwf3jfacG
	SIWTq3YBeQTCKc1YEfejxvuOeiq7TDSY74R+M973uAvmS5CnPm4qKSvNCqKA3OWoppqldGH85vVZP
	BsP4sNStrWJ/A2Id/+ogImH5UuxClbXkEGQi2/tAsBqDz9uM5FVl/rHtuiB24Of6Eerxub89pOKgB
	roAeJBNfmNHFFGnAT39BqrqDlbVnM0sDEwveynkJjIA2aLB/Rd81HHqtjukB++xeM9F37lkVXNzsH
	/zvHh48cna9/7R0kuRysRc/8g4EjShMsLYuA==
