package engine

import "testing"

// check runs f on every case and reports the wrong answers.
func check(t *testing.T, name string, f func(string) string, cases map[string]string) {
	t.Helper()
	for in, want := range cases {
		if got := f(in); got != want {
			t.Errorf("%s(%q) = %q, want %q", name, in, got, want)
		}
	}
}

func TestNumber(t *testing.T) {
	check(t, "Number", Number, map[string]string{
		"Chapter 2.5":                    "2.5",
		"\n\t\t\tChapter 103.2\t\t\n":    "103.2",
		"Ch. 10 - The End":               "10",
		"Episode 7":                      "7",
		"Ep.12":                          "12",
		"Vol.2 Chapter 10.5: The Return": "10.5",
		"Vol 02 – Cap. 16":               "16",
		"Capítulo 3":                     "3",
		"Chapter 007":                    "7",
		"Chapter 0.5":                    "0.5",
		"Chapter 10,5":                   "10.5",
		"109":                            "109",
		"60 - النهاية":                   "60",
		"Solo Hero Chapter 12":           "12",
		"Prologue":                       "",
		"Vol 02 – Interlúdio 5":          "",
		"Season 2 Notice":                "",
		"Epilogue":                       "",
		"Chapterhouse Dune":              "",
	})
}

func TestNumberFromPath(t *testing.T) {
	check(t, "NumberFromPath", NumberFromPath, map[string]string{
		"/manga/solo-hero/chapter-12/":            "12",
		"/manga/solo-hero/chapter-2-5/":           "2.5",
		"/solo-hero-chapter-116/":                 "116",
		"/infinite-level-up-in-murim-chapter-124": "124",
		"/manga/solo-hero/extra/":                 "",
		"/read/solo_hero/en/0/":                   "",
	})
}

func TestName(t *testing.T) {
	check(t, "Name", Name, map[string]string{
		"Chapter 10 - The End":      "The End",
		"Chapter 10":                "",
		"Vol.2 Chapter 10: The End": "The End",
		"Prologue":                  "Prologue",
		"60 - النهاية":              "النهاية",
		"\n\tChapter 103.2\t\n":     "",
		"Ch. 5 | Return":            "Return",
	})
}
