package predict

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mobileone-go/mobileone/internal/readfile"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// IsURL reports whether an input names an http(s) URL.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Source is one image to classify.
type Source struct {
	Path string // file path or URL
	// Rel is the path relative to the folder it was found in (folder
	// inputs), or the file's base name: where --show-dir writes its picture.
	Rel string
}

// ListInputs expands infer's arguments into the images to classify, in
// order: a folder gives its image files (mmpretrain's IMG_EXTENSIONS,
// case-insensitive), found recursively, hidden files and folders left
// out, sorted; an argument with glob metacharacters that is not an
// existing file gives its matches (sorted, hidden files only for a
// pattern starting with a dot, as a shell; a pattern matching nothing is
// an error); a URL and any other argument are taken as they are (a file
// that is missing or not an image fails when it is read, naming it).
func ListInputs(args []string) ([]Source, error) {
	var out []Source
	for _, a := range args {
		switch {
		case IsURL(a):
			out = append(out, Source{Path: a, Rel: urlBase(a)})
			continue
		case hasMeta(a):
			if _, err := os.Lstat(a); err != nil {
				matches, err := filepath.Glob(a)
				if err != nil {
					return nil, fmt.Errorf("%s: bad pattern: %w", a, err)
				}
				if len(matches) == 0 {
					return nil, fmt.Errorf("%s: no file matches", a)
				}
				for _, m := range matches {
					if strings.HasPrefix(filepath.Base(m), ".") && !strings.HasPrefix(filepath.Base(a), ".") {
						continue // as a shell's glob: * does not match a leading dot
					}
					found, err := expand(m)
					if err != nil {
						return nil, err
					}
					out = append(out, found...)
				}
				continue
			}
		}
		found, err := expand(a)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[`) }

// expand lists a folder's images, or returns a file as it is.
func expand(p string) ([]Source, error) {
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return []Source{{Path: p, Rel: filepath.Base(p)}}, nil
	}
	var out []Source
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("infer: %w", err)
		}
		if path != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isImageName(d.Name()) {
			return nil
		}
		rel, _ := filepath.Rel(p, path)
		out = append(out, Source{Path: path, Rel: rel})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no image files in this folder (looked for %s)", p, strings.Join(imagenet.ImageExtensions, ", "))
	}
	return out, nil
}

func isImageName(name string) bool {
	return slices.Contains(imagenet.ImageExtensions, strings.ToLower(filepath.Ext(name)))
}

func urlBase(u string) string {
	u, _, _ = strings.Cut(u, "?")
	u, _, _ = strings.Cut(u, "#")
	if b := u[strings.LastIndex(u, "/")+1:]; b != "" {
		return b
	}
	return "image"
}

// Reader returns the function the imagenet.Loader decodes samples with:
// files through imagenet.DecodeFile, URLs fetched with client (bounded by
// imagenet.MaxFileBytes, stopped by ctx). With a pipeline, images are
// decoded for it alone (Pipeline.Decode: a JPEG only where the pipeline
// reads it); with nil, in full.
func Reader(ctx context.Context, client *http.Client, pipe *imagenet.Pipeline) func(string) (*imagenet.Image, error) {
	decodeFile, decode := imagenet.DecodeFile, imagenet.Decode
	if pipe != nil {
		decodeFile, decode = pipe.DecodeFile, pipe.Decode
	}
	return func(path string) (*imagenet.Image, error) {
		if !IsURL(path) {
			return decodeFile(path)
		}
		data, err := fetch(ctx, client, path)
		if err != nil {
			return nil, err
		}
		m, err := decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return m, nil
	}
}

func fetch(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", url, resp.Status)
	}
	if resp.ContentLength > imagenet.MaxFileBytes {
		return nil, fmt.Errorf("%s: %w", url, imagenet.UnsupportedError(fmt.Sprintf("%d bytes is larger than the %d bytes an image file may have", resp.ContentLength, imagenet.MaxFileBytes)))
	}
	// The format is checked on the first bytes before the body is read.
	head := make([]byte, 16)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if imagenet.Format(head[:n]) == "" {
		_, err := imagenet.Decode(head[:n])
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	data, err := readfile.ReadAll(resp.Body, head[:n], imagenet.MaxFileBytes, resp.ContentLength)
	var tl *readfile.TooLargeError
	switch {
	case errors.As(err, &tl):
		return nil, fmt.Errorf("%s: %w", url, imagenet.UnsupportedError(fmt.Sprintf("more than the %d bytes an image file may have", imagenet.MaxFileBytes)))
	case err != nil:
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return data, nil
}
