package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
)

// checkLayout checks, before debug/elf decodes anything, that what the
// headers claim fits in the file: the ELF header, the program and section
// header tables (with extended numbering: e_shnum 0 and the count in
// section 0's sh_size), the section name table and every section's
// contents. A claim of billions of entries is refused here, for what it
// is, without allocating for it, and the message names the table or the
// section and where it lies, where debug/elf would say "EOF".
func checkLayout(name string, data []byte) error {
	size := uint64(len(data))
	class, order := elf.Class(data[elf.EI_CLASS]), binary.ByteOrder(nil)
	switch elf.Data(data[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		order = binary.BigEndian
	default:
		return errorf(name, "unknown byte order %d (EI_DATA)", data[elf.EI_DATA])
	}
	if v := elf.Version(data[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return errorf(name, "unknown ELF version %d (EI_VERSION)", v)
	}
	var ehsize, phsize, shsize uint64
	var phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx uint64
	switch class {
	case elf.ELFCLASS32:
		ehsize, phsize, shsize = 52, 32, 40
		if size < ehsize {
			return errorf(name, "truncated ELF header: %d bytes of %d", size, ehsize)
		}
		phoff, shoff = uint64(order.Uint32(data[28:])), uint64(order.Uint32(data[32:]))
		phentsize, phnum = uint64(order.Uint16(data[42:])), uint64(order.Uint16(data[44:]))
		shentsize, shnum, shstrndx = uint64(order.Uint16(data[46:])), uint64(order.Uint16(data[48:])), uint64(order.Uint16(data[50:]))
	case elf.ELFCLASS64:
		ehsize, phsize, shsize = 64, 56, 64
		if size < ehsize {
			return errorf(name, "truncated ELF header: %d bytes of %d", size, ehsize)
		}
		phoff, shoff = order.Uint64(data[32:]), order.Uint64(data[40:])
		phentsize, phnum = uint64(order.Uint16(data[54:])), uint64(order.Uint16(data[56:]))
		shentsize, shnum, shstrndx = uint64(order.Uint16(data[58:])), uint64(order.Uint16(data[60:])), uint64(order.Uint16(data[62:]))
	default:
		return errorf(name, "unknown ELF class %d (EI_CLASS)", class)
	}
	// table checks a header table of n entries of entsize bytes at off.
	table := func(what, field string, off, n, entsize, minsize uint64) error {
		if n == 0 {
			return nil
		}
		if entsize < minsize {
			return errorf(name, "%s %d is less than a %s entry (%d bytes)", field, entsize, what, minsize)
		}
		if off > size || n > (size-off)/entsize {
			return atOffset(name, off, "%s: %d entries of %d bytes lie past the end of the file (0x%x bytes)", what, n, entsize, size)
		}
		return nil
	}
	if err := table("program header table", "e_phentsize", phoff, phnum, phentsize, phsize); err != nil {
		return err
	}
	if shoff == 0 {
		return nil // no sections; debug/elf refuses a count without a table
	}
	// Extended numbering: section 0 holds the count and the name table's
	// index.
	if err := table("section header table", "e_shentsize", shoff, 1, shentsize, shsize); err != nil {
		return err
	}
	sh := func(i uint64) (typ, link uint32, off, n uint64, nameOff uint32) {
		h := data[shoff+i*shentsize:]
		if class == elf.ELFCLASS64 {
			return order.Uint32(h[4:]), order.Uint32(h[40:]), order.Uint64(h[24:]), order.Uint64(h[32:]), order.Uint32(h[0:])
		}
		return order.Uint32(h[4:]), order.Uint32(h[24:]), uint64(order.Uint32(h[16:])), uint64(order.Uint32(h[20:])), order.Uint32(h[0:])
	}
	if shnum == 0 {
		_, link, _, n, _ := sh(0)
		shnum = n
		if shstrndx == uint64(elf.SHN_XINDEX) {
			shstrndx = uint64(link)
		}
		if shnum == 0 {
			return atOffset(name, shoff, "section header table: e_shnum is 0, and so is the count in section 0 (sh_size)")
		}
	}
	if err := table("section header table", "e_shentsize", shoff, shnum, shentsize, shsize); err != nil {
		return err
	}
	if shstrndx >= shnum {
		return errorf(name, "e_shstrndx %d names no section (%d sections)", shstrndx, shnum)
	}
	// The section name table, then every section's contents, named.
	var names []byte
	if shstrndx != 0 {
		typ, _, off, n, _ := sh(shstrndx)
		if elf.SectionType(typ) != elf.SHT_STRTAB {
			return &Error{File: name, Section: fmt.Sprintf("[%d]", shstrndx), Msg: fmt.Sprintf("the section name table (e_shstrndx) is %v, not SHT_STRTAB", elf.SectionType(typ))}
		}
		if off > size || n > size-off {
			return &Error{File: name, Section: fmt.Sprintf("[%d]", shstrndx), Msg: fmt.Sprintf("the section name table's contents at 0x%x+0x%x lie past the end of the file (0x%x bytes)", off, n, size)}
		}
		names = data[off : off+n]
		h := data[shoff+shstrndx*shentsize:]
		flags := uint64(order.Uint32(h[8:]))
		if class == elf.ELFCLASS64 {
			flags = order.Uint64(h[8:])
		}
		if flags&uint64(elf.SHF_COMPRESSED) != 0 {
			names = nil // debug/elf decompresses it and checks the names
		}
	}
	for i := uint64(0); i < shnum; i++ {
		typ, _, off, n, nameOff := sh(i)
		label := fmt.Sprintf("[%d]", i)
		if names != nil {
			if uint64(nameOff) >= uint64(len(names)) || bytes.IndexByte(names[nameOff:], 0) < 0 {
				return atOffset(name, shoff+i*shentsize, "section %d: sh_name 0x%x lies outside the section name table (0x%x bytes)", i, nameOff, len(names))
			}
			if s := string(names[nameOff : uint64(nameOff)+uint64(bytes.IndexByte(names[nameOff:], 0))]); s != "" {
				label = s
			}
		}
		if t := elf.SectionType(typ); t == elf.SHT_NOBITS || t == elf.SHT_NULL || n == 0 {
			continue
		}
		if off > size || n > size-off {
			return &Error{File: name, Section: label, Msg: fmt.Sprintf("contents at 0x%x+0x%x lie past the end of the file (0x%x bytes)", off, n, size)}
		}
	}
	return nil
}

// checkOverlaps refuses sections whose contents overlap in the file: a
// patch that writes one would change the other.
func checkOverlaps(name string, secs []*Section) error {
	var with []*Section
	for _, s := range secs {
		if s.FileSize() > 0 {
			with = append(with, s)
		}
	}
	sort.SliceStable(with, func(i, j int) bool { return with[i].Offset < with[j].Offset })
	for i := 1; i < len(with); i++ {
		if a, b := with[i-1], with[i]; b.Offset < a.Offset+a.FileSize() {
			return &Error{File: name, Section: b.Label(), Msg: fmt.Sprintf("contents at 0x%x+0x%x overlap those of %s (0x%x+0x%x)", b.Offset, b.FileSize(), a.Label(), a.Offset, a.FileSize())}
		}
	}
	return nil
}
