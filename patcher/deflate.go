package patcher

import (
	"encoding/binary"
	"errors"
	"hash/adler32"
)

// Extending a zlib stream without decompressing it. A zlib stream is a
// two-byte header, deflate blocks of which the last has its BFINAL bit
// set, and the Adler-32 of the uncompressed data (RFC 1950, RFC 1951).
// To append bytes, elfpatch walks the blocks' structure (it decodes their
// codes, but produces no output and keeps no window), clears the last
// block's BFINAL bit, puts the new bytes after it in stored blocks, the
// last of them final, and writes the Adler-32 of the whole, which follows
// from the old one and the new bytes' own. Every byte of the old blocks
// but two (the one holding BFINAL, and the one the old data ends in)
// stays a range of the input.

// deflateEnd finds, in the deflate data of a zlib stream (b, header
// included), the bit that marks the final block and the bit just past
// that block, both counted from the start of b.
func deflateEnd(b []byte) (final, end uint64, err error) {
	if len(b) < 2+4 || b[0]&0x0f != 8 || (uint16(b[0])<<8|uint16(b[1]))%31 != 0 || b[1]&0x20 != 0 {
		return 0, 0, errNotZlib
	}
	r := &bitReader{b: b[:len(b)-4], pos: 16}
	for {
		at := r.pos
		hdr, ok := r.bits(3)
		if !ok {
			return 0, 0, errTruncatedDeflate
		}
		switch hdr >> 1 {
		case 0: // stored
			r.pos = (r.pos + 7) &^ 7
			n, ok1 := r.bits(16)
			nn, ok2 := r.bits(16)
			if !ok1 || !ok2 || n != ^nn&0xffff {
				return 0, 0, errBadDeflate
			}
			r.pos += uint64(n) * 8
			if r.pos > uint64(len(r.b))*8 {
				return 0, 0, errTruncatedDeflate
			}
		case 1:
			if err := r.codes(&fixedLit, &fixedDist); err != nil {
				return 0, 0, err
			}
		case 2:
			var lit, dist huffman
			if err := r.dynamic(&lit, &dist); err != nil {
				return 0, 0, err
			}
			if err := r.codes(&lit, &dist); err != nil {
				return 0, 0, err
			}
		default:
			return 0, 0, errBadDeflate
		}
		if hdr&1 == 1 {
			return at, r.pos, nil
		}
	}
}

var (
	errNotZlib          = errors.New("not a zlib stream")
	errTruncatedDeflate = errors.New("deflate data ends early")
	errBadDeflate       = errors.New("malformed deflate data")
)

// bitReader reads deflate's bits: from each byte's least significant up.
type bitReader struct {
	b   []byte
	pos uint64 // bits read
}

func (r *bitReader) bits(n uint) (uint32, bool) {
	if r.pos+uint64(n) > uint64(len(r.b))*8 {
		return 0, false
	}
	var v uint32
	for i := uint(0); i < n; i++ {
		v |= uint32(r.b[r.pos>>3]>>(r.pos&7)&1) << i
		r.pos++
	}
	return v, true
}

// huffman is a canonical code: how many codes each length has, and the
// symbols in code order.
type huffman struct {
	count  [16]uint16
	symbol [288]uint16
}

// build makes the code of the given lengths; an over-subscribed set is
// malformed, an incomplete one allowed (as RFC 1951 allows one distance
// code).
func (h *huffman) build(lengths []uint8) bool {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return true
}

// decode reads one symbol, a bit at a time: codes of each length are
// consecutive, so a code of length l is the symbol at its distance from
// the first code of that length.
func (r *bitReader) decode(h *huffman) (int, bool) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		bit, ok := r.bits(1)
		if !ok {
			return 0, false
		}
		code |= int(bit)
		n := int(h.count[l])
		if code-first < n {
			return int(h.symbol[index+code-first]), true
		}
		index += n
		first = (first + n) << 1
		code <<= 1
	}
	return 0, false
}

// Extra bits of the length symbols 257..285 and of the distance symbols.
var (
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// The fixed codes of block type 1.
var fixedLit, fixedDist = func() (lit, dist huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	lit.build(l[:])
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	dist.build(d[:])
	return
}()

// codes skips a compressed block's symbols up to its end of block.
func (r *bitReader) codes(lit, dist *huffman) error {
	for {
		sym, ok := r.decode(lit)
		if !ok {
			return errBadDeflate
		}
		switch {
		case sym < 256:
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return errBadDeflate
		}
		if _, ok := r.bits(uint(lengthExtra[sym-257])); !ok {
			return errTruncatedDeflate
		}
		d, ok := r.decode(dist)
		if !ok || d >= 30 {
			return errBadDeflate
		}
		if _, ok := r.bits(uint(distExtra[d])); !ok {
			return errTruncatedDeflate
		}
	}
}

// dynamic reads a block type 2 header's codes.
func (r *bitReader) dynamic(lit, dist *huffman) error {
	nlen, ok1 := r.bits(5)
	ndist, ok2 := r.bits(5)
	ncode, ok3 := r.bits(4)
	if !ok1 || !ok2 || !ok3 {
		return errTruncatedDeflate
	}
	nlen, ndist, ncode = nlen+257, ndist+1, ncode+4
	if nlen > 286 || ndist > 30 {
		return errBadDeflate
	}
	order := [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	var cl [19]uint8
	for i := uint32(0); i < ncode; i++ {
		v, ok := r.bits(3)
		if !ok {
			return errTruncatedDeflate
		}
		cl[order[i]] = uint8(v)
	}
	var lencode huffman
	if !lencode.build(cl[:]) {
		return errBadDeflate
	}
	lengths := make([]uint8, nlen+ndist)
	for i := 0; i < len(lengths); {
		sym, ok := r.decode(&lencode)
		if !ok {
			return errBadDeflate
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var prev uint8
		var rep uint32
		switch sym {
		case 16:
			if i == 0 {
				return errBadDeflate
			}
			prev = lengths[i-1]
			v, ok := r.bits(2)
			if !ok {
				return errTruncatedDeflate
			}
			rep = 3 + v
		case 17:
			v, ok := r.bits(3)
			if !ok {
				return errTruncatedDeflate
			}
			rep = 3 + v
		default:
			v, ok := r.bits(7)
			if !ok {
				return errTruncatedDeflate
			}
			rep = 11 + v
		}
		if i+int(rep) > len(lengths) {
			return errBadDeflate
		}
		for ; rep > 0; rep-- {
			lengths[i] = prev
			i++
		}
	}
	if lengths[256] == 0 || !lit.build(lengths[:nlen]) || !dist.build(lengths[nlen:]) {
		return errBadDeflate
	}
	return nil
}

// adlerCat is the Adler-32 of a then b, from a's and b's and b's length:
// the sum A gains b's bytes (its own A less the initial 1), and the sum of
// sums B gains b's own B plus, for each of b's n bytes, a's A less 1.
func adlerCat(a, b uint32, n uint64) uint32 {
	const mod = 65521
	aA, aB := uint64(a&0xffff), uint64(a>>16)
	bA, bB := uint64(b&0xffff), uint64(b>>16)
	A := (aA + bA + mod - 1) % mod
	B := (aB + bB + (n%mod)*((aA+mod-1)%mod)) % mod
	return uint32(B<<16 | A)
}

// zlibAppend returns the pieces of stream z (a zlib stream whose bytes
// are the input's from off on) with add appended to what it decompresses
// to: ranges of the input, and the few bytes that change.
func zlibAppend(z []byte, off uint64, add []byte) (rope, error) {
	final, end, err := deflateEnd(z)
	if err != nil {
		return nil, err
	}
	if (end+7)/8+4 != uint64(len(z)) {
		return nil, errors.New("bytes after the zlib stream")
	}
	sum := adlerCat(binary.BigEndian.Uint32(z[len(z)-4:]), adler32.Checksum(add), uint64(len(add)))

	// The tail, from the byte the old data ends in (when it ends inside
	// one): that byte's used bits, stored blocks of at most 65535 bytes
	// (the last one final; the first header at bit end, each followed by
	// padding to a byte), the new checksum.
	tailAt, bit := end/8, uint(end%8)
	var tail []byte
	if bit != 0 {
		tail = append(tail, z[tailAt]&byte(1<<bit-1))
	}
	rest := add
	for first := true; ; first = false {
		n := min(len(rest), 0xffff)
		hdr := byte(0)
		if n == len(rest) {
			hdr = 1 // BFINAL; BTYPE 00, stored
		}
		if first && bit != 0 {
			tail[0] |= hdr << bit
			if bit > 5 {
				tail = append(tail, 0) // BTYPE's bits spill into a byte of their own
			}
		} else {
			tail = append(tail, hdr)
		}
		tail = binary.LittleEndian.AppendUint16(tail, uint16(n))
		tail = binary.LittleEndian.AppendUint16(tail, ^uint16(n))
		tail = append(tail, rest[:n]...)
		rest = rest[n:]
		if hdr == 1 {
			break
		}
	}
	tail = binary.BigEndian.AppendUint32(tail, sum)

	// The old final block is final no more.
	fb, fbit := final/8, final%8
	var r rope
	switch {
	case fb < tailAt:
		r = append(r, piece{input: true, off: off, n: fb}, piece{n: 1, data: []byte{z[fb] &^ (1 << fbit)}})
		if tailAt > fb+1 {
			r = append(r, piece{input: true, off: off + fb + 1, n: tailAt - fb - 1})
		}
	case fb == tailAt && bit != 0:
		tail[0] &^= 1 << fbit
		r = append(r, piece{input: true, off: off, n: tailAt})
	default:
		return nil, errBadDeflate
	}
	return append(r, piece{n: uint64(len(tail)), data: tail}), nil
}
