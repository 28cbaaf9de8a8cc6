package patcher

import (
	"debug/elf"
	"testing"
)

// A patched image says what patched it, in a note no segment loads: the
// flash image is the same with or without it.
func TestPatchedImagesCarryAProvenanceNote(t *testing.T) {
	in := readImage(t, buildImage(t, imageSpec{arenaSize: 8192}))
	_, out := patched(t, in, Options{Version: "1.2.3", ArenaSize: 4096, SetSize: true})
	sec := out.SectionNamed(provenanceSection)
	if sec == nil || sec.Type != elf.SHT_NOTE || sec.Flags != 0 || sec.Addr != 0 {
		t.Fatalf("provenance section: %+v", sec)
	}
	for _, pr := range out.Progs {
		if sec.Offset < pr.Off+pr.Filesz && pr.Off < sec.Offset+sec.Size {
			t.Errorf("segment %d loads the note", pr.Index)
		}
	}
	pv, err := ReadProvenance(out)
	if err != nil {
		t.Fatal(err)
	}
	want := Provenance{Tool: "elfpatch", Version: "1.2.3", Variant: "thumb2", ArenaSize: 4096}
	if pv.Tool != want.Tool || pv.Version != want.Version || pv.Variant != want.Variant || pv.ArenaSize != want.ArenaSize || len(pv.SHA256) != 64 ||
		len(pv.Imports) != 2 || pv.Imports[0] != "__cabi_arena_realloc" || pv.Imports[1] != "cabi-arena-realloc" {
		t.Errorf("provenance %+v", *pv)
	}
	if rep := Inspect(out, Options{}); rep.Provenance == nil || rep.Provenance.ArenaSize != 4096 {
		t.Errorf("inspect does not show the note: %+v", rep.Provenance)
	}
}

// verify re-plans with the allocator the note names: an image patched
// with a forced variant verifies without being told it again.
func TestVerifyUsesTheRecordedVariant(t *testing.T) {
	in := readImage(t, buildImage(t, imageSpec{}))
	_, out := patched(t, in, Options{Variant: "thumb1"})
	rep, err := Verify(out, Options{})
	if err != nil || !rep.OK || rep.Allocator == nil || rep.Allocator.Variant != "thumb1" {
		t.Fatalf("verify: %v, %+v", err, rep)
	}
}
