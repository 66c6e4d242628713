package model

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
)

// TestStateDictKeysMatchUpstream compares key names, order, shapes and
// dtypes with the state dicts upstream mmpretrain wrote for s0, s1 and the
// tiny custom arch (testdata/model/keys.json, extracted from the shared
// fixtures' manifest.json models.<m>.keys_train/keys_deploy).
func TestStateDictKeysMatchUpstream(t *testing.T) {
	raw, err := os.ReadFile(fixtures.Testdata(t, "model/keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string][][3]json.RawMessage
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]Config{
		"s0":   {Arch: ArchZoo["s0"], NumClasses: 1000},
		"s1":   {Arch: ArchZoo["s1"], NumClasses: 1000},
		"tiny": {Arch: tinyArch, NumClasses: 10},
	}
	for name, cfg := range cfgs {
		for _, graph := range []string{"train", "deploy"} {
			cfg.Deploy = graph == "deploy"
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := m.StateDict()
			w := want[name][graph]
			if len(got) != len(w) {
				t.Fatalf("%s %s: %d keys, upstream has %d", name, graph, len(got), len(w))
			}
			for i, e := range got {
				var key, dtype string
				var shape []int
				json.Unmarshal(w[i][0], &key)
				json.Unmarshal(w[i][1], &shape)
				json.Unmarshal(w[i][2], &dtype)
				wantDtype := "float32"
				if e.Kind == Counter {
					wantDtype = "int64"
				}
				if e.Key != key || !slices.Equal(e.Shape(), shape) || dtype != wantDtype {
					t.Fatalf("%s %s key %d: got %s %v %s, upstream %s %v %s", name, graph, i, e.Key, e.Shape(), wantDtype, key, shape, dtype)
				}
			}
		}
	}
}
