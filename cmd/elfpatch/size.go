package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads an arena size: decimal bytes, 0x hex bytes, or a number
// with a K/KiB or M/MiB suffix (powers of 1024). KB and MB are refused:
// they are ambiguous between 1000 and 1024.
func parseSize(s string) (uint64, error) {
	num, mult := s, uint64(1)
	for _, suf := range []struct {
		text string
		mult uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"k", 1 << 10}} {
		if strings.HasSuffix(s, suf.text) {
			num, mult = strings.TrimSuffix(s, suf.text), suf.mult
			break
		}
	}
	var n uint64
	var err error
	switch {
	case num == "":
		err = fmt.Errorf("no number")
	case strings.HasPrefix(num, "0x") || strings.HasPrefix(num, "0X"):
		if mult != 1 {
			return 0, fmt.Errorf("invalid size %q: a hex size takes no suffix", s)
		}
		n, err = strconv.ParseUint(num[2:], 16, 64)
	default:
		if strings.TrimLeft(num, "0123456789") != "" {
			return 0, fmt.Errorf("invalid size %q: use bytes (16384), hex (0x4000), or K/KiB/M/MiB (16K)", s)
		}
		n, err = strconv.ParseUint(num, 10, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: use bytes (16384), hex (0x4000), or K/KiB/M/MiB (16K)", s)
	}
	if n > (1<<64-1)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}
