package patcher

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Source is an input file, open and mapped read-only: Read decodes the
// bytes it touches (headers, tables, the sites), and the page cache holds
// the rest, so an image of hundreds of MiB of debug information costs
// elfpatch no more memory than its tables. The file stays open for
// Output.WriteTo to copy its ranges from.
type Source struct {
	File *os.File
	Data []byte
}

// OpenSource opens and maps path.
func OpenSource(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &Source{File: f}
	if n := st.Size(); n > 0 {
		if int64(int(n)) != n {
			f.Close()
			return nil, fmt.Errorf("%s: %d bytes cannot be mapped", path, n)
		}
		if s.Data, err = syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED); err != nil {
			f.Close()
			return nil, &os.PathError{Op: "mmap", Path: path, Err: err}
		}
	}
	return s, nil
}

// Close unmaps and closes the file.
func (s *Source) Close() error {
	if s.Data != nil {
		syscall.Munmap(s.Data)
		s.Data = nil
	}
	return s.File.Close()
}

// Copy is an output that is the input unchanged.
func Copy(img *Image) *Output {
	o := newOutput(img.Data)
	o.appendInput(0, uint64(len(img.Data)))
	return o
}

// WriteOutput replaces path with o atomically: o is written (WriteTo, the
// input's ranges copied from src by the kernel) to a temporary file in the
// same directory, handed mapped to check, and only then renamed over
// path, so a killed process leaves the old file or the new one, and a
// check that fails leaves the old one. The new file gets mode perm.
//
// Like a linker, cp or objcopy, elfpatch does not fsync what it writes:
// that would cost more than the patch (a 256 MiB image takes longer to
// reach the disk than to copy in the page cache). The rename is what
// makes the replacement atomic; after a power loss the filesystem's own
// ordering of a rename over a file applies (ext4 writes the new file's
// data first, by default).
//
// It reports whether the filesystem cloned the input.
func WriteOutput(path string, o *Output, src *os.File, perm os.FileMode, check func(data []byte) error) (cloned bool, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".elfpatch-*")
	if err != nil {
		return false, fmt.Errorf("%s: cannot create a temporary file beside it: %w", path, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if cloned, err = o.WriteTo(tmp, src); err != nil {
		return cloned, fmt.Errorf("%s: writing: %w", path, unwrapPath(err))
	}
	if err = tmp.Chmod(perm); err != nil {
		return cloned, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if check != nil && o.Size() > 0 {
		data, merr := syscall.Mmap(int(tmp.Fd()), 0, int(o.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
		if merr != nil {
			return cloned, fmt.Errorf("%s: reading back: %w", path, merr)
		}
		err = check(data)
		syscall.Munmap(data)
		if err != nil {
			return cloned, err
		}
	}
	if err = tmp.Close(); err != nil {
		return cloned, fmt.Errorf("%s: writing: %w", path, unwrapPath(err))
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return cloned, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return cloned, nil
}
