package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLabelsKeyIsInjective(t *testing.T) {
	sets := []map[string]string{
		nil,
		{"a": ""},
		{"a": "b"},
		{"a": "b", "c": "d"},
		{"a": "b1:c1:d"},
		{"a": "b\xfe", "c": "d"},
		{"a": "b\xfec\xffd"},
		{"ab": "c"},
		{"a": "bc"},
	}
	seen := map[string]int{}
	for i, s := range sets {
		k := labelsKey(s)
		if j, dup := seen[k]; dup {
			t.Fatalf("sets %v and %v share key %q", sets[j], s, k)
		}
		seen[k] = i
	}
	assert.Equal(t, labelsKey(map[string]string{"x": "1", "y": "2"}), labelsKey(map[string]string{"y": "2", "x": "1"}))
	assert.Equal(t, labelsKey(nil), labelsKey(map[string]string{}))
}

func TestNameValidation(t *testing.T) {
	for name, want := range map[string]bool{"a": true, "_a:b9": true, "ns:x": true, "9a": false, "": false, "a-b": false, "é": false} {
		assert.Equal(t, want, validMetricName(name), name)
	}
	for name, want := range map[string]bool{"a": true, "_a9": true, "a:b": false, "9a": false, "": false} {
		assert.Equal(t, want, validLabelName(name), name)
	}
}
