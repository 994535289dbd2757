DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=qcloud;
	t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:
	List-Unsubscribe:List-Unsubscribe-Post;
	bh=tQegbOpHmYa4GrrEnIafzTM9D5NCP6Vzj51bITWZ0Bs=;
	b=Dds6ghiyJtpBPZe9ieE/iwgTbHO8EIcOpLIkcp/QUIj2SqFiY3DQSIM6Zvb6Nx69JAPpNGC2vn7
	i0sDK+FHpqsMD9wL6hzkULr3USe7cV+CuhncCZoG5JS6TmYD+r/Pk0p3fG/8u59U+liRbbE9ynOuT
	KSWVDc6Z3Ws9GDfAc0x3F0cQEMtBMQWYbsuonEIPnv1m2HTXdedFyh+k3hqqw3V7P6uNf0NgFyho4
	8/yWytx601X2aI3GsdnZ2wvERUVzTqqcl8FQk2GjsB7Eev94xb4Sckofn9Sj4KWMiehLu4D4rtpTe
	XAXQt5G06LmErTli7BHj8vsntkEvbz+si1wg==
