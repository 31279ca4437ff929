package lambda

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxUnzipped caps a deployment package's content, as AWS does (250 MB).
const maxUnzipped = 250 << 20

// unzip extracts a deployment package into dir. bootstrap is made
// executable even when the zip lost its mode bits.
func unzip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	var total int64
	for _, zf := range zr.File {
		name := filepath.Clean(zf.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("bad path %q in zip", zf.Name)
		}
		dst := filepath.Join(dir, name)
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := zf.Mode().Perm() | 0o400
		if name == "bootstrap" {
			mode |= 0o111
		}
		n, err := extract(zf, dst, mode, maxUnzipped-total)
		if err != nil {
			return err
		}
		total += n
	}
	return nil
}

func extract(zf *zip.File, dst string, mode os.FileMode, limit int64) (int64, error) {
	rc, err := zf.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = fmt.Errorf("unzipped size must be smaller than %d bytes", maxUnzipped)
	}
	return n, err
}
