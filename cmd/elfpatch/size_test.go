package main

import "testing"

func TestParseSizeAcceptsBytesHexAndBinarySuffixes(t *testing.T) {
	for in, want := range map[string]uint64{
		"16384": 16384, "16K": 16384, "16KiB": 16384, "0x4000": 16384, "0X4000": 16384,
		"1M": 1 << 20, "1MiB": 1 << 20, "16k": 16384, "0": 0, "4096": 4096,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestParseSizeRejectsEverythingElse(t *testing.T) {
	for _, in := range []string{"", "K", "16KB", "16MB", "1G", "-1", "16 K", "0x", "0x10K", "1.5K", "abc", "16Ki", "99999999999999999999", "18446744073709551615K"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
