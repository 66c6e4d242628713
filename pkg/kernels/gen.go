package kernels

// The AVX2+FMA and AVX-512 kernels in kernels_amd64.s and their Go declarations in
// kernels_stub_amd64.go are generated with avo by the generator in _gen/
// (a separate module, so the main module never depends on avo).
//go:generate sh -c "cd _gen && go run . -out ../kernels_amd64.s -stubs ../kernels_stub_amd64.go -pkg kernels"
