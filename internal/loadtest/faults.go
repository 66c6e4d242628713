package loadtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Fault is one hostile request and what the server must do with it.
type Fault struct {
	Name string
	Want string // e.g. "413", "cut off", or both: "413|cut off"
	Got  string
	OK   bool
}

func (f Fault) String() string {
	mark := "ok  "
	if !f.OK {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %-38s want %-12s got %s", mark, f.Name, f.Want, f.Got)
}

// FaultOptions are the server limits the faults are measured against.
type FaultOptions struct {
	JPEG        []byte        // a valid JPEG (truncated for one fault)
	ReadTimeout time.Duration // the server's --read-timeout: slow clients must be cut off by then
	BigBody     int64         // the size of the oversized body (e.g. 100 MB)
}

// Faults sends each hostile request to predictURL and reports what came
// back. Bodies are generated on the fly, never held in memory.
func Faults(predictURL string, o FaultOptions) ([]Fault, error) {
	if err := CheckLoopback(predictURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(predictURL)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(ct string, body io.Reader, length int64) string {
		req, _ := http.NewRequest(http.MethodPost, predictURL, body)
		req.ContentLength = length
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := client.Do(req)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe") {
				// The server answered and closed while the body was
				// still being sent: the client may see the reset first.
				return "cut off"
			}
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return fmt.Sprint(resp.StatusCode)
	}
	var out []Fault
	add := func(name, want, got string) {
		ok := false
		for _, w := range strings.Split(want, "|") {
			ok = ok || got == w
		}
		out = append(out, Fault{Name: name, Want: want, Got: got, OK: ok})
	}
	add("empty body", "400", post("image/jpeg", http.NoBody, 0))
	trunc := o.JPEG[:len(o.JPEG)/2]
	add("truncated JPEG", "400", post("image/jpeg", bytes.NewReader(trunc), int64(len(trunc))))
	png := PNGHeader(100000, 100000)
	add("PNG header claiming 100000x100000", "413", post("image/png", bytes.NewReader(png), int64(len(png))))
	// An oversized body is refused before it is read; the client may
	// see the 413 or, still sending, the connection closed.
	add(fmt.Sprintf("%d MB body (Content-Length)", o.BigBody/1e6), "413|cut off", post("image/jpeg", zeros(o.BigBody), o.BigBody))
	add(fmt.Sprintf("%d MB body (chunked)", o.BigBody/1e6), "413|cut off", post("image/jpeg", io.MultiReader(bytes.NewReader(o.JPEG), zeros(o.BigBody)), -1))
	add("wrong Content-Type (application/json)", "415", post("application/json", bytes.NewReader(o.JPEG), int64(len(o.JPEG))))
	add("not an image", "400", post("image/jpeg", strings.NewReader("hello, world"), 12))
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for _, n := range []string{"a.jpg", "b.jpg"} {
		w, _ := mw.CreateFormFile("data", n)
		w.Write(o.JPEG)
	}
	mw.Close()
	add("two images in one form", "400", post(mw.FormDataContentType(), bytes.NewReader(form.Bytes()), int64(form.Len())))
	add("client disconnects mid-upload", "cut off", disconnect(u.Host, u.Path, o.JPEG))
	add("slow client (1 byte / 200 ms)", "cut off", slow(u.Host, u.Path, o.JPEG, o.ReadTimeout))
	add("slow headers (slowloris)", "cut off", slowHeaders(u.Host, u.Path, o.ReadTimeout))
	return out, nil
}

// zeros is a reader of n zero bytes.
func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// PNGHeader is a PNG signature and IHDR chunk claiming w×h RGB pixels,
// with no image data.
func PNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// disconnect announces a body, sends part of it and hangs up.
func disconnect(host, path string, body []byte) string {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return "error: " + err.Error()
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", path, host, len(body))
	c.Write(body[:len(body)/3])
	c.Close()
	return "cut off" // the server must simply carry on: checked by the next requests
}

// slow sends a request one byte every 200 ms and reports whether the
// server cut it off (closed the connection or answered 408) before the
// whole body could arrive, within readTimeout plus a margin.
func slow(host, path string, body []byte, readTimeout time.Duration) string {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", path, host, len(body))
	done := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			done <- "closed"
			return
		}
		resp.Body.Close()
		done <- fmt.Sprint(resp.StatusCode)
	}()
	deadline := start.Add(readTimeout + 5*time.Second)
	for i := 0; i < len(body); i++ {
		select {
		case got := <-done:
			if got == "closed" || got == "408" {
				return "cut off"
			}
			return got
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("still open after %s", time.Since(start).Round(time.Second))
		}
		if _, err := c.Write(body[i : i+1]); err != nil {
			return "cut off"
		}
	}
	return "the whole body was accepted"
}

// slowHeaders sends the request line and then a header byte every 200 ms.
func slowHeaders(host, path string, readTimeout time.Duration) string {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	for time.Since(start) < readTimeout+5*time.Second {
		if _, err := c.Write([]byte("X")); err != nil {
			return "cut off"
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return "cut off"
		}
		return "cut off" // an answer (408/400) ends it too
	}
	return fmt.Sprintf("still open after %s", time.Since(start).Round(time.Second))
}
