package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// ARM build attributes (AAELF32 "Build Attributes", the aeabi subsection
// of .ARM.attributes) that decide which allocator an image may receive.
const (
	tagFile             = 1
	tagCPUArch          = 6
	tagCPUArchProfile   = 7
	tagTHUMBISAUse      = 9
	tagCompatibility    = 32
	tagAlsoCompatibleWt = 65
)

// Tag_CPU_arch values.
const (
	cpuArchV7       = 10 // ARMv7; with profile 'M', ARMv7-M
	cpuArchV6M      = 11
	cpuArchV6SM     = 12
	cpuArchV7EM     = 13
	cpuArchV8MBase  = 16
	cpuArchV8MMain  = 17
	cpuArchV81MMain = 21
)

// armAttrs are the file-scope attributes elfpatch reads.
type armAttrs struct {
	present  bool
	cpuArch  uint64 // Tag_CPU_arch
	profile  uint64 // Tag_CPU_arch_profile: 'A', 'R', 'M', 'S' or 0
	thumbISA uint64 // Tag_THUMB_ISA_use
}

// readARMAttributes decodes the aeabi file attributes of an image. Unknown
// vendors and sub-sections are skipped; a malformed section yields what was
// read before the damage, never a failure, since attributes only narrow a
// choice the user can also make with --variant.
func readARMAttributes(img *Image) armAttrs {
	var a armAttrs
	var sec *Section
	for _, s := range img.Sections {
		if s.Type == shtARMAttributes {
			sec = s
			break
		}
	}
	if sec == nil {
		return a
	}
	d := img.contents(sec)
	if len(d) < 1 || d[0] != 'A' {
		return a
	}
	d = d[1:]
	for len(d) >= 4 {
		n := binary.LittleEndian.Uint32(d)
		if img.Order == binary.BigEndian {
			n = binary.BigEndian.Uint32(d)
		}
		if n < 4 || uint64(n) > uint64(len(d)) {
			return a
		}
		sub := d[4:n]
		d = d[n:]
		nul := bytes.IndexByte(sub, 0)
		if nul < 0 || string(sub[:nul]) != "aeabi" {
			continue
		}
		sub = sub[nul+1:]
		for len(sub) >= 5 {
			tag := sub[0]
			size := img.Order.Uint32(sub[1:])
			if size < 5 || uint64(size) > uint64(len(sub)) {
				return a
			}
			body := sub[5:size]
			sub = sub[size:]
			if tag != tagFile {
				continue
			}
			a.present = true
			parseAttrList(body, &a)
		}
	}
	return a
}

func parseAttrList(b []byte, a *armAttrs) {
	for len(b) > 0 {
		tag, n := uleb(b)
		if n == 0 {
			return
		}
		b = b[n:]
		switch {
		case tag == tagCompatibility:
			_, n = uleb(b)
			if n == 0 {
				return
			}
			b = b[n:]
			fallthrough
		case tag == 4 || tag == 5 || tag == 67 || (tag > 32 && tag%2 == 1 && tag != tagAlsoCompatibleWt):
			nul := bytes.IndexByte(b, 0)
			if nul < 0 {
				return
			}
			b = b[nul+1:]
		case tag == tagAlsoCompatibleWt:
			// A nested attribute; its value is not needed here.
			return
		default:
			v, n := uleb(b)
			if n == 0 {
				return
			}
			b = b[n:]
			switch tag {
			case tagCPUArch:
				a.cpuArch = v
			case tagCPUArchProfile:
				a.profile = v
			case tagTHUMBISAUse:
				a.thumbISA = v
			}
		}
	}
}

// uleb decodes an unsigned LEB128 number; n == 0 means malformed.
func uleb(b []byte) (v uint64, n int) {
	for i, c := range b {
		if i == 10 {
			return 0, 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// shtARMAttributes is SHT_ARM_ATTRIBUTES, which debug/elf does not name.
const shtARMAttributes elf.SectionType = 0x70000003

// rThmCall is R_ARM_THM_CALL; debug/elf calls type 10 by its old name,
// R_ARM_THM_PC22.
const rThmCall = elf.R_ARM_THM_PC22
