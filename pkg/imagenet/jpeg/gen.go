package jpeg

// The AVX2 kernels in simd_amd64.s and their Go declarations in
// simd_stub_amd64.go are generated with avo by the generator in _gen/ (a
// separate module, so the main module never depends on avo).
//go:generate sh -c "cd _gen && go run . -out ../simd_amd64.s -stubs ../simd_stub_amd64.go -pkg jpeg"
