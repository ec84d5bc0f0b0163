package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/geocluster/geocluster/libs/events"
	"github.com/geocluster/geocluster/libs/pipeline"
	"github.com/geocluster/geocluster/libs/raster"
)

func (a *app) pipelineCommand() *cobra.Command {
	var (
		inputs   []string
		out      string
		id       string
		spec     pipeline.Spec
		az, alt  float64
		progress watchOptions
		byPath   bool
		xyzZooms string
		stretch  []float64
		outPath  string
	)
	cmd := &cobra.Command{
		Use:   "pipeline hillshade|slope|bandmath --input FILE [--input FILE] --out DIR",
		Short: "Run a raster pipeline on the cluster: tiles in, tile tasks, a COG out",
		Long: "pipeline uploads the input GeoTIFFs to the geo_tiles object store, plans the job\n" +
			"(a cut task per input writes tiles with the halo the operation needs, one task per\n" +
			"tile computes it, an assemble task writes a Cloud-Optimized GeoTIFF), submits it,\n" +
			"follows it and downloads the result into --out. Examples:\n\n" +
			"  geoctl pipeline hillshade --input dem.tif --scale 111120 --out out/\n" +
			"  geoctl pipeline bandmath --input B4.tif --input B5.tif --expr '(b2-b1)/(b2+b1)' --out out/\n" +
			"  geoctl pipeline hillshade --input /data/dem.tif --path --xyz 10-14 --out out/\n\n" +
			"With --path nothing is uploaded: each tile task reads its window of the file itself,\n" +
			"so the path must be one every worker sees under its GEO_WORKER_DATA_DIRS. With\n" +
			"--output-path the assemble task writes the COG to that file itself (a path every\n" +
			"worker sees under its GEO_WORKER_OUTPUT_DIRS) and nothing is downloaded.",
		Args: argsOf("OPERATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Op = args[0]
			if len(inputs) == 0 {
				return fmt.Errorf("--input: at least one GeoTIFF")
			}
			if cmd.Flags().Changed("azimuth") {
				spec.Azimuth = &az
			}
			if cmd.Flags().Changed("altitude") {
				spec.Altitude = &alt
			}
			if err := progress.Validate(); err != nil {
				return err
			}
			if xyzZooms != "" {
				var lo, hi int
				if _, err := fmt.Sscanf(xyzZooms, "%d-%d", &lo, &hi); err != nil {
					return fmt.Errorf("--xyz %q: want MIN-MAX zooms, e.g. 10-14", xyzZooms)
				}
				spec.XYZ = &pipeline.XYZ{MinZoom: lo, MaxZoom: hi}
				if len(stretch) == 2 {
					spec.XYZ.Min, spec.XYZ.Max = stretch[0], stretch[1]
				} else if len(stretch) != 0 {
					return fmt.Errorf("--stretch: want MIN,MAX")
				}
			}
			if outPath != "" {
				if cmd.Flags().Changed("out") {
					return fmt.Errorf("--out and --output-path: give one (--output-path is written by the cluster, --out by geoctl)")
				}
				abs, err := filepath.Abs(outPath)
				if err != nil {
					return fmt.Errorf("--output-path %s: %w", outPath, err)
				}
				spec.OutputPath = abs
			}
			spec.ID = id
			if spec.ID == "" {
				spec.ID = spec.Op + "-" + events.NewID()
			}
			return a.withClient(func(c *client) error {
				ctx := cmd.Context()
				store, err := c.js.ObjectStore(ctx, events.ObjectTiles)
				if err != nil {
					return fmt.Errorf("object store %s at %s: %w", events.ObjectTiles, c.server, err)
				}
				for k, path := range inputs {
					if byPath {
						info, err := raster.ReadInfo(path)
						if err != nil {
							return fmt.Errorf("--input %s: %w", path, err)
						}
						abs, err := filepath.Abs(path)
						if err != nil {
							return fmt.Errorf("--input %s: %w", path, err)
						}
						spec.Inputs = append(spec.Inputs, pipeline.Input{Path: abs, Width: info.Width, Height: info.Height})
						continue
					}
					name := fmt.Sprintf("jobs/%s/source%d/%s", spec.ID, k, filepath.Base(path))
					in, err := pipeline.Upload(ctx, store, path, name, "input of "+spec.ID)
					if err != nil {
						return fmt.Errorf("--input %s: %w", path, err)
					}
					spec.Inputs = append(spec.Inputs, in)
				}
				job, err := pipeline.Plan(spec)
				if err != nil {
					return err
				}
				body, err := json.Marshal(job)
				if err != nil {
					return err
				}
				var reply events.SubmitReply
				if err := c.request(ctx, events.APIVerbSubmit, body, &reply); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "job %s: %d tasks\n", reply.JobID, len(job.Tasks))
				progress.submitSeq = reply.Seq
				if err := a.watchJob(ctx, c, reply.JobID, progress); err != nil {
					return err
				}
				if spec.OutputPath != "" {
					fmt.Fprintln(a.stdout, spec.OutputPath)
					return nil
				}
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				dst := filepath.Join(out, spec.Op+".tif")
				if err := store.GetFile(ctx, job.Labels[pipeline.LabelOutput], dst); err != nil {
					return fmt.Errorf("download %s: %w", job.Labels[pipeline.LabelOutput], err)
				}
				fmt.Fprintln(a.stdout, dst)
				if spec.XYZ != nil {
					dir := filepath.Join(out, "xyz")
					n, err := pipeline.DownloadPrefix(ctx, store, job.Labels["xyz"], dir)
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stderr, "%d web-map tiles in %s\n", n, dir)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&inputs, "input", nil, "input GeoTIFF (repeat for band math: b1, b2, … number the bands across inputs)")
	f.StringVar(&out, "out", ".", "folder the result COG is downloaded to")
	f.StringVar(&outPath, "output-path", "", "file the cluster writes the result COG to, instead of the object store (a path the workers see under GEO_WORKER_OUTPUT_DIRS; not with --xyz)")
	f.StringVar(&id, "id", "", "job id (default <operation>-<ULID>)")
	f.IntVar(&spec.TileSize, "tile-size", 256, "tile edge in pixels")
	f.IntVar(&spec.Band, "band", 0, "band of the input the terrain operations read, 0-based")
	f.Float64Var(&spec.Scale, "scale", 1, "horizontal units per vertical unit, as gdaldem -s (111120 for degrees over metres)")
	f.Float64Var(&spec.ZFactor, "z", 1, "vertical exaggeration, as gdaldem -z")
	f.Float64Var(&az, "azimuth", 315, "light azimuth in degrees (hillshade)")
	f.Float64Var(&alt, "altitude", 45, "light altitude in degrees (hillshade)")
	f.BoolVar(&spec.Percent, "percent", false, "slope in percent instead of degrees")
	f.StringVar(&spec.Expr, "expr", "", "band math expression, e.g. (b2-b1)/(b2+b1)")
	f.BoolVar(&byPath, "path", false, "do not upload: the workers read the inputs by their absolute paths (under their GEO_WORKER_DATA_DIRS)")
	f.StringVar(&xyzZooms, "xyz", "", "also render web-mercator PNG tiles of these zooms, e.g. 10-14, downloaded into <out>/xyz")
	f.Float64SliceVar(&stretch, "stretch", nil, "MIN,MAX of the values stretched onto gray levels in the PNG tiles (non-Byte outputs)")
	progress.addFlags(cmd)
	return cmd
}
