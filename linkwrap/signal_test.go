//go:build unix

package linkwrap

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A wrapper told to stop passes the signal to the link, waits for it, and
// leaves none of its temporary files behind.
func TestASignalReachesTheLinkAndTheTemporaryFilesGo(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "started")
	t.Setenv("MARK", mark)
	fakeTool(t, "fake-ld", `touch "$MARK"; exec sleep 30`)
	obj := armObjectIn(t, t.TempDir())
	done := make(chan wrapRun, 1)
	go func() {
		done <- wrap(t, Config{Patch: true}, nil, nil, "fake-ld", obj, "-o", filepath.Join(t.TempDir(), "app.elf"))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fake linker did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case r := <-done:
		if r.code != 128+int(syscall.SIGTERM) || r.stderr != "elfpatch-ld: fake-ld: terminated\n" || r.patched != nil {
			t.Errorf("%+v", r)
		}
		if len(r.tmpLeft) != 0 {
			t.Errorf("left in TMPDIR: %q", r.tmpLeft)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the wrapper did not stop the link")
	}
}
