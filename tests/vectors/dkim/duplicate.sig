DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	t=1764144000; h=From:To:TO:To:subject:Date:MESSAGE-ID;
	bh=VHEEhKMNaHLemxxOlelcdKHTpJODdTECbgRih+xR5Mk=;
	b=YuspLklf+SfOeaWJ7tG1/45Z9SICPxpAn4bXW3sciAWhb1ShcboytbphREMh+CDtLHfIJoLMAIf
	GDwckzj7WniIvBUCCDwoOefI396cB5TANJil7AaJlqEi0EZctI+G9NAUlWmH/lbjyaRcgyR5AAbCq
	h/0DbQfDqhvyxZ8tFnbseJLhBByurWgBtSIwdh9BmpcwiDlHs1IHkSidwn7cm8lApob/HhmvyTj5o
	82ygvB0yniNOlH2EIu0sGw7B+QAeUPNTjHIudaepjbOrDsFgmxxzUGUV5chFMs3iL+J5qw4qGJDb4
	ybXGq4q3TD6tnunmespTz05/F2mS0EQoQEeA==
