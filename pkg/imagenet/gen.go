package imagenet

// The AVX2 kernels of the resize in resize_amd64.s and their Go
// declarations in resize_stub_amd64.go are generated with avo by the
// generator in _gen/ (a separate module, so the main module never depends
// on avo).
//go:generate sh -c "cd _gen && go run . -out ../resize_amd64.s -stubs ../resize_stub_amd64.go -pkg imagenet"
