DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	t=1764144000; h=From:To:Subject;
	bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
	b=F+plF3cR2tTkWbWDCnxSzyQaddXTa0I2ZCB1Xni2S725q9D5WeCmvflB+1rZZp2HDgcIwwrVGNk
	2Wj8H06VHuiyCuqNavMk9dlU2CydmdAjtNONEmyh1oQ3kADMOaYnbjx9KRvGebB1HDOKKU0n8s3Kv
	x5IRz4CIjmzuYo6ll67JIbbJvPbu1ZjECwYsxYgJyjo0E0D45n+TEj7GH2qwJ3aGQ1c6t/Q6m8/Wv
	jMsIECPojc/wPwn5V0ZDNEx+lhexqPyCBPb5wqAB5wJVKoYYpv4/jFKTUnaZKzKQlaVpoDJ58+RjE
	ELhg0ZeikoSaIfFJ9gpoBnP1R1HtS6zXsZ+w==
