DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=big;
	t=1764144000; h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;
	bh=6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0=;
	b=PwTEZuI8KNahts8BG8TqpPs/1fWyPsh8m1w6PBNuNz9/3ehFbCR3yaGygrcKl0ZLPRlFLAu+ssD
	KIzoVGzpT5K1M67aHUnMMA+n1Vmh/j/8eFVu1hbdyXnBELbag2lvrhbTVQzBFMkN0ApzTsg7KFK5e
	3gGBjKrbyw9HaajVyzDWUsGxipjy2ymx6RyVLOEtM2pxsTuGZ3YUQGSLBb6njASXgyrz2CCYOMOmo
	YCUuufzkAspjrmSTsXAWbbJkO51B7Cuzb8lJgtZlOeHK4SBiYVzoWWDwBVZUfZHZm9xLTGyXthfTT
	ZroivlgN2VkUIrCEIstQSr6vUV3tMo9D+egtR40/MWOauwJ12Z7WBLkYTOXFCEp1Zut+LRkSwCs5L
	i/Nff6WcZeU5klvzd8JqOA2eyeaYhnz4sM8PO/xC1u+jLGjFkwNYCsE9is77ChjitJ4rWMnkvPG7V
	FQtDglgGomS0H/DG4oN6h9PSS+ZC9D3FgaILvPnm0WP8AerZfRRDjOPLy/o7iZf4tHRIh0NZaj3o+
	8zGXnU43u1K8hjqp6Uh71nmudYG1m/cdaN7gOL31fW73UbjIx9khJ12B100qMjTp/788fkZ26BPTF
	DfiFfqoLO1mzbEF3WdDPB46bofvXIUo6PC8RhmTjxQazTQIdC4BJOoCI/a0NZN9iZp+RI=
