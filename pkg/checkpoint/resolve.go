package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/schollz/progressbar/v3"
)

// HubDir returns torch's hub checkpoint cache: $TORCH_HOME/hub/checkpoints,
// where TORCH_HOME defaults to $XDG_CACHE_HOME/torch, else ~/.cache/torch
// (torch.hub.get_dir).
func HubDir() (string, error) {
	home := os.Getenv("TORCH_HOME")
	if home == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("checkpoint: cannot locate the torch hub cache (set TORCH_HOME): %w", err)
			}
			cache = filepath.Join(h, ".cache")
		}
		home = filepath.Join(cache, "torch")
	}
	return filepath.Join(home, "hub", "checkpoints"), nil
}

// hashRegex is torch.hub's HASH_REGEX: the first "-<hex>." in the file name
// is a prefix of the file's sha256 (mmpretrain names end in -<8 hex>.pth).
var hashRegex = regexp.MustCompile(`-([a-f0-9]*)\.`)

// HTTPClient is the client Resolve uses; tests and callers may replace it.
var HTTPClient = http.DefaultClient

// Resolve returns a local path for a checkpoint given as a local path or an
// http(s) URL. Local paths are returned unchanged (not checked). A URL is
// downloaded once into the torch hub cache (HubDir) under its base name, as
// torch.hub.load_state_dict_from_url does; later calls return the cached
// file without network access. The download shows a progress bar on
// progress (nil: no bar), is checked against the sha256 prefix in the file
// name (torch hub's check_hash convention) and is written atomically, so an
// interrupted or corrupt download never leaves a file in the cache.
func Resolve(ctx context.Context, pathOrURL string, progress io.Writer) (string, error) {
	if !strings.HasPrefix(pathOrURL, "http://") && !strings.HasPrefix(pathOrURL, "https://") {
		return pathOrURL, nil
	}
	u, err := url.Parse(pathOrURL)
	if err != nil {
		return "", fmt.Errorf("checkpoint: bad URL %q: %w", pathOrURL, err)
	}
	name := path.Base(u.Path)
	if name == "" || name == "/" || name == "." || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("checkpoint: URL %q does not end in a file name", pathOrURL)
	}
	dir, err := HubDir()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: create cache dir: %w", err)
	}
	if err := download(ctx, pathOrURL, dir, name, progress); err != nil {
		return "", err
	}
	return dst, nil
}

func download(ctx context.Context, rawURL, dir, name string, progress io.Writer) (err error) {
	hint := func(err error) error {
		return fmt.Errorf("checkpoint: download %s: %w (if this machine is offline, download the file by other means and pass its local path instead of the URL)", rawURL, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return hint(err)
	}
	resp, err := HTTPClient.Do(req)
	if err != nil {
		return hint(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return hint(fmt.Errorf("HTTP status %s", resp.Status))
	}
	tmp, err := os.CreateTemp(dir, "."+name+".part-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	var w io.Writer = io.MultiWriter(tmp, h)
	if progress != nil {
		bar := progressbar.NewOptions64(resp.ContentLength,
			progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription("downloading "+name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100_000_000), // 0.1 s
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }),
		)
		defer bar.Finish()
		w = io.MultiWriter(w, bar)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return hint(err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return hint(fmt.Errorf("got %d of %d bytes", n, resp.ContentLength))
	}
	digest := hex.EncodeToString(h.Sum(nil))
	if m := hashRegex.FindStringSubmatch(name); m != nil && m[1] != "" && !strings.HasPrefix(digest, m[1]) {
		err = fmt.Errorf("checkpoint: download %s: invalid hash value (expected sha256 prefix %q, got %q); the file is corrupt or not the published one", rawURL, m[1], digest)
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
