package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/tenantjwt/tenantjwt/issuer"
)

// maxDirFiles bounds issuers_dir; with one issuer a file it is twice the
// 100,000 issuers serve is measured with.
const maxDirFiles = 200_000

// issuersDir reads the issuers_dir of the serve config: every .yaml, .yml
// and .json file directly in it (subfolders and dot files are skipped),
// each a document with only an `issuers:` list, in file name order. It
// lifts the size cap of the single config file (each file is capped
// instead) and makes onboarding a tenant a file write. A file is parsed
// again only when its size or modification time changed, so reloading a
// large folder costs a directory listing plus the changed files.
type issuersDir struct {
	files map[string]dirFile // by path; touched by one loader at a time
}

type dirFile struct {
	size    int64
	mod     time.Time
	issuers []issuer.Config
}

// dirEntries lists the config files of dir, sorted.
func dirEntries(dir string) ([]os.DirEntry, error) {
	all, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		out = append(out, e)
	}
	if len(out) > maxDirFiles {
		return nil, fmt.Errorf("issuers_dir %s: %d files, more than %d", dir, len(out), maxDirFiles)
	}
	return out, nil
}

// load returns the issuers of every file in dir, parsing only the files
// that changed since the last load.
func (d *issuersDir) load(dir string) ([]issuer.Config, error) {
	entries, err := dirEntries(dir)
	if err != nil {
		return nil, err
	}
	next := make(map[string]dirFile, len(entries))
	var out []issuer.Config
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		f, ok := d.files[path]
		if !ok || f.size != info.Size() || !f.mod.Equal(info.ModTime()) {
			if f, err = parseDirFile(path, dir); err != nil {
				return nil, err
			}
			f.size, f.mod = info.Size(), info.ModTime()
		}
		next[path] = f
		out = append(out, f.issuers...)
	}
	d.files = next
	return out, nil
}

// parseDirFile reads one file of issuers_dir: strict, `issuers:` only,
// relative jwks_file and ca_file paths taken from the folder.
func parseDirFile(path, dir string) (dirFile, error) {
	data, err := readConfig(path)
	if err != nil {
		return dirFile{}, err
	}
	f, err := issuer.ParseConfig(data, dir, nil)
	if err != nil {
		return dirFile{}, fmt.Errorf("%s: %w", path, err)
	}
	rest := *f
	rest.Issuers = nil
	if !reflect.ValueOf(rest).IsZero() {
		return dirFile{}, fmt.Errorf("%s: a file of issuers_dir holds only an issuers list", path)
	}
	return dirFile{issuers: f.Issuers}, nil
}

// fingerprint digests the config file and the listing of its issuers_dir
// (names, sizes, modification times): the watcher reloads when it
// changes, without reading every file of a large folder each tick.
func fingerprint(data []byte, dir string) ([32]byte, error) {
	h := sha256.New()
	h.Write(data)
	if dir != "" {
		entries, err := dirEntries(dir)
		if err != nil {
			return [32]byte{}, err
		}
		var buf [16]byte
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				return [32]byte{}, err
			}
			h.Write([]byte(e.Name()))
			binary.LittleEndian.PutUint64(buf[:8], uint64(info.Size()))
			binary.LittleEndian.PutUint64(buf[8:], uint64(info.ModTime().UnixNano()))
			h.Write(buf[:])
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
