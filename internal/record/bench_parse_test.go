package record

import "testing"

func BenchmarkParse(b *testing.B) {
	line := []byte(`{"type":"item","source":"smb://me@nas:445/photos","id":"2024/07/IMG_000123.CR3","path":"2024/07/IMG_000123.CR3","name":"IMG_000123.CR3","size":25123456,"mtime":"2024-07-01T10:00:00Z","media":"raw","hash":{"sha256":"abcdef"},"meta":{"albums":["Trip"]},"rating":5}`)
	for b.Loop() {
		if _, err := Parse(line); err != nil {
			b.Fatal(err)
		}
	}
}
