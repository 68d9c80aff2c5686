package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestScriptJSON(t *testing.T) {
	page := `<html><body><script>var a = "ts_reader.run(";</script>
<script>ts_reader.run({"post_id":62671,"noimagehtml":"<center><h4>NO IMAGE YET<\/h4><\/center>","sources":[{"source":"Server 1","images":["http:\/\/cdn.example\/a]b.webp","http:\/\/cdn.example\/2.webp"]}],"protected":false});</script></body></html>`
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := ScriptJSON(doc, "ts_reader.run(")
	if !ok {
		t.Fatal("ts_reader.run payload not found")
	}
	var v struct {
		Sources []struct{ Images []string }
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if len(v.Sources) != 1 || strings.Join(v.Sources[0].Images, " ") != "http://cdn.example/a]b.webp http://cdn.example/2.webp" {
		t.Errorf("sources %+v", v.Sources)
	}
	if _, ok := JSONAfter(`var pages = [{"url":"x"`, "var pages = "); ok {
		t.Error("an unterminated value was accepted")
	}
	if _, ok := JSONAfter(`var pages = 3;`, "var pages = "); ok {
		t.Error("a number was taken for a list")
	}
}
