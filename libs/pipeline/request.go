package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/raster"
)

// A pipeline can be planned by the client (Plan, as geoctl does) or by the
// scheduler: a Request on geo.api.<tenant>.jobs.pipeline, which any NATS
// client can send, names its inputs and op as JSON, and the scheduler
// plans and submits the job. The scheduler reads no raster for that: an
// object's size comes from the metadata Upload stores with it, a path's
// from the request.

// Object metadata keys Upload sets: the raster's size in pixels.
const (
	MetaWidth  = "geo-width"
	MetaHeight = "geo-height"
)

// Upload stores the GeoTIFF at path in store as name, with its size in the
// object's metadata, and returns the input naming it.
func Upload(ctx context.Context, store jetstream.ObjectStore, path, name, description string) (Input, error) {
	info, err := raster.ReadInfo(path)
	if err != nil {
		return Input{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Input{}, err
	}
	defer f.Close()
	meta := jetstream.ObjectMeta{Name: name, Description: description, Metadata: map[string]string{
		MetaWidth: strconv.Itoa(info.Width), MetaHeight: strconv.Itoa(info.Height),
	}}
	if _, err := store.Put(ctx, meta, f); err != nil {
		return Input{}, fmt.Errorf("upload %s: %w", filepath.Base(path), err)
	}
	return Input{Object: name, Width: info.Width, Height: info.Height}, nil
}

// Request is a pipeline as JSON.
type Request struct {
	ID             string          `json:"id,omitempty"`
	Name           string          `json:"name,omitempty"`
	Op             string          `json:"op"`
	Inputs         []RequestInput  `json:"inputs"`
	TileSize       int             `json:"tile_size,omitempty"`
	Band           int             `json:"band,omitempty"`
	Scale          float64         `json:"scale,omitempty"`
	ZFactor        float64         `json:"z_factor,omitempty"`
	Azimuth        *float64        `json:"azimuth,omitempty"`
	Altitude       *float64        `json:"altitude,omitempty"`
	Percent        bool            `json:"percent,omitempty"`
	Expr           string          `json:"expr,omitempty"`
	Output         string          `json:"output,omitempty"`
	OutputPath     string          `json:"output_path,omitempty"`
	COGLevel       int             `json:"cog_level,omitempty"`
	COGCompression string          `json:"cog_compression,omitempty"`
	Priority       events.Priority `json:"priority,omitempty"`
	XYZ            *RequestXYZ     `json:"xyz,omitempty"`
}

// RequestInput names an object of geo_tiles or an absolute path the
// workers mount; Width and Height are needed for a path, and for an object
// stored without Upload's metadata.
type RequestInput struct {
	Object string `json:"object,omitempty"`
	Path   string `json:"path,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// RequestXYZ asks for web-map tiles of the output.
type RequestXYZ struct {
	MinZoom int     `json:"min_zoom"`
	MaxZoom int     `json:"max_zoom"`
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
}

// MaxRequestBytes bounds a request.
const MaxRequestBytes = 64 << 10

// DecodeRequest decodes a request; unknown fields are errors.
func DecodeRequest(data []byte) (Request, error) {
	if len(data) > MaxRequestBytes {
		return Request{}, &events.ValidationError{Field: "", Reason: fmt.Sprintf("request of %d bytes is over %d", len(data), MaxRequestBytes)}
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, &events.ValidationError{Reason: "not a pipeline request: " + err.Error()}
	}
	if dec.More() {
		return Request{}, &events.ValidationError{Reason: "trailing data after the request"}
	}
	return r, nil
}

// Spec resolves the inputs' sizes (from store's metadata when the request
// gives none) and returns the Spec to Plan. Errors name the field.
func (r Request) Spec(ctx context.Context, store jetstream.ObjectStore) (Spec, error) {
	field := func(i int, f string) string { return fmt.Sprintf("inputs[%d].%s", i, f) }
	if len(r.Inputs) == 0 {
		return Spec{}, &events.ValidationError{Field: "inputs", Reason: "at least one input is required"}
	}
	s := Spec{
		ID: r.ID, Name: r.Name, Op: r.Op, TileSize: r.TileSize, Band: r.Band, Scale: r.Scale, ZFactor: r.ZFactor,
		Azimuth: r.Azimuth, Altitude: r.Altitude, Percent: r.Percent, Expr: r.Expr, Output: r.Output,
		OutputPath: r.OutputPath, COGLevel: r.COGLevel, COGCompression: r.COGCompression, Priority: r.Priority,
	}
	switch {
	case r.OutputPath != "" && r.Output != "":
		return Spec{}, &events.ValidationError{Field: "output_path", Reason: "give output or output_path, not both"}
	case r.OutputPath != "" && !filepath.IsAbs(r.OutputPath):
		return Spec{}, &events.ValidationError{Field: "output_path", Reason: "must be absolute (the workers write it under their output directories)"}
	case r.OutputPath != "" && r.XYZ != nil:
		return Spec{}, &events.ValidationError{Field: "output_path", Reason: "the web-map tiles (xyz) are rendered from an output in the object store: not with output_path"}
	}
	if r.XYZ != nil {
		s.XYZ = &XYZ{MinZoom: r.XYZ.MinZoom, MaxZoom: r.XYZ.MaxZoom, Min: r.XYZ.Min, Max: r.XYZ.Max}
	}
	for i, in := range r.Inputs {
		switch {
		case (in.Object == "") == (in.Path == ""):
			return Spec{}, &events.ValidationError{Field: field(i, "object"), Reason: "name an object or a path, one of the two"}
		case in.Path != "" && !filepath.IsAbs(in.Path):
			return Spec{}, &events.ValidationError{Field: field(i, "path"), Reason: "must be absolute (the workers resolve it under their data directories)"}
		case in.Width < 0 || in.Height < 0:
			return Spec{}, &events.ValidationError{Field: field(i, "width"), Reason: "must not be negative"}
		}
		if in.Width == 0 || in.Height == 0 {
			if in.Path != "" {
				return Spec{}, &events.ValidationError{Field: field(i, "width"), Reason: "width and height are required for a path: the scheduler does not read the workers' files"}
			}
			w, h, err := objectSize(ctx, store, in.Object)
			if err != nil {
				return Spec{}, &events.ValidationError{Field: field(i, "object"), Reason: err.Error()}
			}
			in.Width, in.Height = w, h
		}
		s.Inputs = append(s.Inputs, Input(in))
	}
	return s, nil
}

// objectSize reads the size Upload recorded in an object's metadata.
func objectSize(ctx context.Context, store jetstream.ObjectStore, name string) (int, int, error) {
	if store == nil {
		return 0, 0, errors.New("no object store to read the size from")
	}
	info, err := store.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, 0, fmt.Errorf("object %q not found in %s", name, events.ObjectTiles)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read object %q: %w", name, err)
	}
	w, errW := strconv.Atoi(info.Metadata[MetaWidth])
	h, errH := strconv.Atoi(info.Metadata[MetaHeight])
	if errW != nil || errH != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("object %q has no %s/%s metadata (upload it with geoctl, or give width and height)", name, MetaWidth, MetaHeight)
	}
	return w, h, nil
}
