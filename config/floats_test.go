package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mangabot/mangabot/sites"
)

// TestFloatKeys: every float key refuses NaN, infinities and values out of
// its range, whether from the file or from MANGABOT_* variables, and the
// error names the key (and the variable).
func TestFloatKeys(t *testing.T) {
	cases := []struct {
		file string            // TOML text
		env  map[string]string // or environment
		want string            // the error, or "" for accepted
	}{
		{file: "[output]\ndpi = nan\n", want: "output.dpi: must be a finite number, got NaN"},
		{file: "[output]\ndpi = inf\n", want: "output.dpi: must be a finite number, got +Inf"},
		{file: "[output]\ndpi = -inf\n", want: "output.dpi: must be a finite number, got -Inf"},
		{file: "[output]\ndpi = 8.99\n", want: "output.dpi: must be between 9 and 2400, got 8.99"},
		{file: "[output]\ndpi = 2400.5\n", want: "output.dpi: must be between 9 and 2400, got 2400.5"},
		{file: "[output]\ndpi = 9.0\n"},
		{file: "[output]\ndpi = 2400.0\n"},
		{file: "[download]\nrate = nan\n", want: "download.rate: must be a finite number, got NaN"},
		{file: "[download]\nrate = +inf\n", want: "download.rate: must be a finite number, got +Inf"},
		{file: "[download]\nrate = 0.0\n", want: "download.rate: must be above 0 and at most 10000, got 0"},
		{file: "[download]\nrate = -2.0\n", want: "download.rate: must be above 0 and at most 10000, got -2"},
		{file: "[download]\nrate = 10000.5\n", want: "download.rate: must be above 0 and at most 10000, got 10000.5"},
		{file: "[download]\nrate = 0.01\n"},
		{file: "[sites.webtoon]\nrate = nan\n", want: "sites.webtoon.rate: must be a finite number, got NaN"},
		{file: "[sites.webtoon]\nrate = 0.0\n", want: "sites.webtoon.rate: must be above 0 and at most 10000, got 0"},
		{file: "[[sites.generic.rules]]\nhost = \"reader.example\"\nselector = \"img\"\nrate = inf\n", want: "sites.generic.rules[0].rate: must be a finite number, got +Inf"},
		{env: map[string]string{"MANGABOT_OUTPUT_DPI": "NaN"}, want: "output.dpi (from MANGABOT_OUTPUT_DPI): must be a finite number, got NaN"},
		{env: map[string]string{"MANGABOT_OUTPUT_DPI": "infinity"}, want: "output.dpi (from MANGABOT_OUTPUT_DPI): must be a finite number, got +Inf"},
		{env: map[string]string{"MANGABOT_DOWNLOAD_RATE": "-Inf"}, want: "download.rate (from MANGABOT_DOWNLOAD_RATE): must be a finite number, got -Inf"},
		{env: map[string]string{"MANGABOT_DOWNLOAD_RATE": "1e6"}, want: "download.rate (from MANGABOT_DOWNLOAD_RATE): must be above 0 and at most 10000, got 1e+06"},
		{env: map[string]string{"MANGABOT_DOWNLOAD_RATE": "1e400"}, want: `MANGABOT_DOWNLOAD_RATE: not a number: "1e400"`},
		{env: map[string]string{"MANGABOT_DOWNLOAD_RATE": "7.5"}},
		// The environment wins over the file, and is what the error names.
		{file: "[download]\nrate = 2.0\n", env: map[string]string{"MANGABOT_DOWNLOAD_RATE": "nan"},
			want: "download.rate (from MANGABOT_DOWNLOAD_RATE): must be a finite number, got NaN"},
	}
	for _, c := range cases {
		t.Run("", func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			path := ""
			if c.file != "" {
				path = filepath.Join(dir, "c.toml")
				if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(path)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%q %v: %v", c.file, c.env, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("%q %v: error %v, want %q", c.file, c.env, err, c.want)
			}
		})
	}
}

// TestFloatRangesDeclared: every float key of Config and of every site's
// options declares its range, and every range tag parses.
func TestFloatRangesDeclared(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, key string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			k := key + "." + tomlName(f)
			switch f.Type.Kind() {
			case reflect.Float64, reflect.Float32:
				tag := f.Tag.Get("range")
				if tag == "" {
					t.Errorf("%s: float key without a range tag", k)
				} else if _, err := parseRange(tag); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			case reflect.Struct:
				walk(f.Type, k)
			case reflect.Slice:
				if f.Type.Elem().Kind() == reflect.Struct {
					walk(f.Type.Elem(), k+"[]")
				}
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	for _, e := range sites.All() {
		if e.Options != nil {
			walk(reflect.TypeOf(e.Options()).Elem(), "sites."+e.Name)
		}
	}
	for _, bad := range []string{"0,1", "[1,0]", "[a,1]", "[0;1]", "{0,1}", "[0,1"} {
		if _, err := parseRange(bad); err == nil {
			t.Errorf("range tag %q accepted", bad)
		}
	}
}
