package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/internal/loadtest"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/predict"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// tiny is the demo model (10 CIFAR classes) with its test pipeline.
type tiny struct {
	model   *model.Predictor
	pipe    *imagenet.Pipeline
	norm    imagenet.Normalizer
	classes []string
}

var (
	tinyOnce sync.Once
	tinyVal  tiny
	tinyErr  error
)

func loadTiny(t testing.TB) tiny {
	t.Helper()
	cfgPath := fixtures.Testdata(t, "demo/mobileone-tiny_demo_deploy.py")
	ckpt := fixtures.Testdata(t, "checkpoint/tiny_deploy.pth")
	tinyOnce.Do(func() {
		cfg, mc, err := setup.Load(cfgPath, nil)
		if err != nil {
			tinyErr = err
			return
		}
		loaded, err := setup.LoadModel(context.Background(), mc, ckpt, nil, nil)
		if err != nil {
			tinyErr = err
			return
		}
		tinyVal.model, tinyVal.classes = loaded.Model.NewPredictor(), loaded.Classes
		if tinyVal.pipe, err = setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil); err == nil {
			tinyVal.norm, err = setup.Normalizer(cfg)
		}
		tinyErr = err
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyVal
}

// recorder wraps the model, recording batch sizes and optionally holding
// each forward pass until release is closed (or for delay).
type recorder struct {
	inner   predict.Classifier
	mu      sync.Mutex
	sizes   []int
	delay   time.Duration
	release chan struct{}
	started chan struct{}
}

func (r *recorder) Forward(x *model.Tensor) (*model.Tensor, error) {
	r.mu.Lock()
	r.sizes = append(r.sizes, x.Shape[0])
	r.mu.Unlock()
	if r.started != nil {
		select {
		case r.started <- struct{}{}:
		default:
		}
	}
	if r.release != nil {
		<-r.release
	}
	time.Sleep(r.delay)
	return r.inner.Forward(x)
}

func (r *recorder) batchSizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...)
}

// start serves the tiny model on a loopback port; the server is shut
// down at the end of the test.
func start(t *testing.T, m predict.Classifier, opts Options, ho HTTPOptions) (string, *Server) {
	t.Helper()
	tm := loadTiny(t)
	if m == nil {
		m = tm.model
	}
	if opts.Model == "" {
		opts.Model = "tiny"
	}
	s, err := New(m, tm.pipe, tm.norm, tm.classes, opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, s, ho) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + l.Addr().String(), s
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixtures.Testdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type answer struct {
	code   int
	result predict.Result
	err    apiError
	body   string
}

// post sends body and decodes the answer; a transport failure is an
// error of the test (and code 0), so that it may run in a goroutine.
func post(t testing.TB, url, ct string, body []byte) answer {
	t.Helper()
	return postReader(t, url, ct, bytes.NewReader(body))
}

// postReader is post of a body read from r: unless r is a *bytes.Reader
// (or the like) its length is not announced and it is sent chunked.
func postReader(t testing.TB, url, ct string, body io.Reader) answer {
	t.Helper()
	resp, err := http.Post(url, ct, body)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, body: string(b)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &a.result); err != nil {
			t.Errorf("%v: %s", err, b)
		}
	} else if err := json.Unmarshal(b, &a.err); err != nil || a.err.Code != resp.StatusCode || a.err.Message == "" || a.err.Type == "" {
		t.Errorf("error answer %d is not TorchServe's shape: %s", resp.StatusCode, b)
	}
	return a
}

// The answer for an image is what infer computes for it (predict.Rank of
// the same pipeline), whether the image comes as the body, by PUT or as a
// multipart file; and upstream's class for the tiny model.
func TestPredictAnswersAsInfer(t *testing.T) {
	url, _ := start(t, nil, Options{}, HTTPOptions{})
	tm := loadTiny(t)
	png := readFile(t, "imagenet/skimage_chelsea.png")
	img, err := imagenet.Decode(png)
	if err != nil {
		t.Fatal(err)
	}
	in, err := predict.Preprocess("", img, tm.pipe, tm.norm)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := predict.Scores(tm.model, []predict.Input{in})
	if err != nil {
		t.Fatal(err)
	}
	want := predict.Rank("", scores[0], tm.classes, DefaultTopK)
	check := func(how string, a answer, name string) {
		t.Helper()
		w := want
		w.Image = name
		got, _ := json.Marshal(a.result)
		exp, _ := json.Marshal(w)
		if a.code != 200 || !bytes.Equal(got, exp) {
			t.Errorf("%s: %d %s\nwant %s", how, a.code, got, exp)
		}
	}
	check("body", post(t, url+"/predictions/tiny", "image/png", png), "")
	check("octet-stream", post(t, url+"/predictions/tiny", "application/octet-stream", png), "")
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile("data", "chelsea.png")
	fw.Write(png)
	mw.Close()
	check("multipart", post(t, url+"/predictions/tiny", mw.FormDataContentType(), form.Bytes()), "chelsea.png")
	req, _ := http.NewRequest(http.MethodPut, url+"/predictions/tiny", bytes.NewReader(png))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r predict.Result
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	check("PUT", answer{code: resp.StatusCode, result: r}, "")
	// upstream ImageClassificationInferencer (pkg/cmd/infer's upstreamTiny)
	if want.PredClass != "dog" {
		t.Errorf("class %q, upstream dog", want.PredClass)
	}
}

func TestBadRequests(t *testing.T) {
	url, _ := start(t, nil, Options{MaxBodyBytes: 1 << 20, MaxPixels: 4_000_000}, HTTPOptions{})
	jpg := readFile(t, "imagenet/gomod_go-turns-two-280x360.jpeg")
	var two bytes.Buffer
	mw := multipart.NewWriter(&two)
	for _, n := range []string{"a.jpg", "b.jpg"} {
		w, _ := mw.CreateFormFile("file", n)
		w.Write(jpg)
	}
	mw.Close()
	var none bytes.Buffer
	mw2 := multipart.NewWriter(&none)
	mw2.WriteField("note", "no image")
	mw2.Close()
	var emptyFile bytes.Buffer
	mw3 := multipart.NewWriter(&emptyFile)
	mw3.CreateFormFile("file", "empty.jpg")
	mw3.Close()
	// A PNG header of 4-bit RGB, which PNG does not define: Go's decoder
	// calls it unsupported.
	png4 := loadtest.PNGHeader(10, 10)
	png4[8+4+4+8] = 4
	binary.BigEndian.PutUint32(png4[len(png4)-4:], crc32.ChecksumIEEE(png4[12:len(png4)-4]))
	cases := []struct {
		name, path, ct string
		body           []byte
		code           int
		reason         string
	}{
		{"another model", "/predictions/resnet", "image/jpeg", jpg, 404, "model_not_found"},
		{"empty", "/predictions/tiny", "image/jpeg", nil, 400, "empty"},
		{"not an image", "/predictions/tiny", "image/jpeg", []byte("hello"), 400, "bad_image"},
		{"header only", "/predictions/tiny", "image/jpeg", jpg[:300], 400, "bad_image"},
		{"truncated JPEG", "/predictions/tiny", "image/jpeg", jpg[:len(jpg)/2], 400, "bad_image"},
		{"too many pixels", "/predictions/tiny", "image/png", loadtest.PNGHeader(100000, 100000), 413, "too_many_pixels"},
		{"just over the pixels", "/predictions/tiny", "image/png", loadtest.PNGHeader(2001, 2000), 413, "too_many_pixels"},
		{"body too large", "/predictions/tiny", "image/jpeg", make([]byte, 1<<20+1), 413, "body_too_large"},
		{"json", "/predictions/tiny", "application/json", jpg, 415, "content_type"},
		{"form-urlencoded", "/predictions/tiny", "application/x-www-form-urlencoded", jpg, 415, "content_type"},
		{"bad content type", "/predictions/tiny", "image/", jpg, 415, "content_type"},
		{"two images", "/predictions/tiny", mw.FormDataContentType(), two.Bytes(), 400, "bad_body"},
		{"form without image", "/predictions/tiny", mw2.FormDataContentType(), none.Bytes(), 400, "empty"},
		{"form with an empty file", "/predictions/tiny", mw3.FormDataContentType(), emptyFile.Bytes(), 400, "empty"},
		{"form without boundary", "/predictions/tiny", "multipart/form-data", two.Bytes(), 400, "bad_body"},
		{"unsupported image", "/predictions/tiny", "image/png", png4, 415, "bad_image"},
		{"chunked body too large", "/predictions/tiny", "image/jpeg", make([]byte, 1<<20+1), 413, "body_too_large"},
		{"chunked empty", "/predictions/tiny", "image/jpeg", nil, 400, "empty"},
	}
	for _, c := range cases {
		var a answer
		if strings.HasPrefix(c.name, "chunked ") { // the body's length is not announced
			a = postReader(t, url+c.path, c.ct, io.MultiReader(bytes.NewReader(c.body)))
		} else {
			a = post(t, url+c.path, c.ct, c.body)
		}
		if a.code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, a.code, a.body, c.code)
		}
	}
	// The server still answers, and counted every refusal by reason.
	if a := post(t, url+"/predictions/tiny", "image/jpeg", jpg); a.code != 200 {
		t.Fatalf("after the bad requests: %d %s", a.code, a.body)
	}
	m := scrape(t, url)
	for _, c := range cases {
		if m[fmt.Sprintf(`mobileone_errors_total{reason="%s"}`, c.reason)] == 0 {
			t.Errorf("no error counted for reason %s", c.reason)
		}
	}
	if got := m[`mobileone_requests_total{code="200"}`]; got != 1 {
		t.Errorf("200 answers counted: %v", got)
	}
}

// TestRefusalReadsTheBody: a request refused before its body is read (415
// here) gets its answer even when the client sends the body slowly, more
// than net/http drains by itself, and asks to close the connection: the
// server reads the body first. Answering at once and closing with the body
// unread reset the connection under the client, which then lost the answer
// (bench-serve's wrong-Content-Type fault, now and then).
func TestRefusalReadsTheBody(t *testing.T) {
	url, _ := start(t, nil, Options{}, HTTPOptions{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const chunk, chunks = 100_000, 8
	fmt.Fprintf(conn, "POST /predictions/tiny HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", chunk*chunks)
	for i := 0; i < chunks; i++ {
		if _, err := conn.Write(make([]byte, chunk)); err != nil {
			t.Fatalf("writing the body, chunk %d: %v", i, err)
		}
		time.Sleep(100 * time.Millisecond) // past net/http's 500 ms wait before closing
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("status %d, want 415", resp.StatusCode)
	}
}
