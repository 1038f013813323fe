import Foundation
import WoofTrain
import WoofCore
import WoofModel
import WoofData
import WoofViz
import WoofIO

/// Options of `woof-dist attention` (see `AttentionReport.run`).
public struct AttentionOptions {
    /// Model specs: `pretrained` (the timm file, `weights`), a run directory holding
    /// `model.safetensors`, or a safetensors file.
    public var models = ["pretrained", "output/full_model", "output/lora_model"]
    /// Images to draw; empty means `perClass` images of each val class.
    public var images: [String] = []
    /// With no `images`: the first K val images of each class in sorted path order.
    public var perClass = 2
    /// Data root (`resolveDataRoot`).
    public var data: String?
    public var out = "output/attention"
    /// DINO mask threshold: fraction of the CLS attention mass the mask keeps.
    public var threshold: Float = 0.6
    /// Val images per class for the change metrics: nil = all, 0 = no metrics.
    public var metricImages: Int?
    public var batchSize = 32
    /// The pretrained weights file behind `pretrained` (default `resolveWeights(nil)`).
    public var weights: String?
    /// Display names of the classes from their wnids (e.g. breed names); wnids otherwise.
    public var classNames: ((_ wnids: [String]) -> [String])?
    public var showProgress = true
    /// Maps to draw: `cls` (last block, per head and mean), `rollout`, `gt` and `pred`
    /// (gradient-weighted relevance for the true / predicted class).
    public var explain: Set<String> = AttentionOptions.allExplanations
    public static let allExplanations: Set<String> = ["cls", "rollout", "gt", "pred"]
    /// Val images (seeded choice over all classes) for the deletion test; 0: none.
    public var faithfulnessImages = 500
    public var faithfulnessSeed: UInt64 = 0
    /// A patch token is high-norm above this multiple of the model's median patch norm.
    public var artifactFactor = AttentionArtifacts.defaultFactor
    public init() {}
}

/// One row of `attention_change.csv`: how the last block's CLS attention of `modelB`
/// differs from `modelA`'s for one head (`0`, `1`, `2` or `mean`) over the metric images
/// of one class (wnid) or all of them (`all`).
public struct AttentionChangeRow: Equatable {
    public var modelA, modelB, head, wnid, className: String
    public var images: Int
    /// Mean Jensen–Shannon divergence in nats (0 … ln 2).
    public var js: Double
    /// Mean IoU of the thresholded masks.
    public var iou: Double
}

/// One row of `attention_stats.csv`: one model's last-block CLS attention for one head over
/// the metric images of one class (or `all`).
public struct AttentionStatsRow: Equatable {
    public var model, head, wnid, className: String
    public var images: Int
    /// Mean number of patches in the thresholded mask (of 196).
    public var maskPatches: Double
    /// Mean entropy of the CLS→patch distribution in nats (uniform over 196: ln 196 ≈ 5.28).
    public var entropy: Double
    /// Accuracy on these images (ten-way; a 1000-class model is scored on the ten classes' logits).
    public var accuracy: Double
}

/// What `AttentionReport.run` wrote.
public struct AttentionReportResult {
    /// What each map file shows (written as `grid.json` beside them).
    public var grid: AttentionGrid?
    public var gridPath = ""
    public var csvPath = ""
    public var rows: [AttentionChangeRow] = []
    public var stats: [AttentionStatsRow] = []
    /// High-norm patches per model, and the change metrics without them.
    public var artifacts: [ArtifactRow] = []
    public var artifactChange: [ArtifactChangeRow] = []
    /// The deletion test's curves.
    public var faithfulness: [FaithfulnessRow] = []
    /// The printed table.
    public var table = ""
}

/// `woof-dist attention`: DINO-style attention maps of the last block for the original ViT
/// and the fine-tuned models (images without text, described by `grid.json`), and numbers
/// for how attention changed (Jensen–Shannon divergence and mask IoU per model pair and head).
public enum AttentionReport {
    /// Padding between the panels of a per-image strip.
    public static let padding = 8

    /// A loaded model behind one `--models` entry.
    struct ModelEntry {
        let spec: String
        let path: String
        /// Short name for files and the CSV (`pretrained`, `full_model`, `lora_model`).
        let slug: String
        /// Name in figures (`original ViT`, `full FT`, `LoRA`).
        let label: String
        /// Index into the de-duplicated list of loaded models.
        let unique: Int
    }

    /// Resolves a `--models` entry to a weights file, failing with the command that makes it.
    static func resolveModelPath(_ spec: String, weights: String?) throws -> String {
        let fm = FileManager.default
        if spec == "pretrained" {
            let p = resolveWeights(explicit: weights)
            guard fm.isReadableFile(atPath: p) else {
                throw TrainError.invalidOption("pretrained weights \(p) not found: run `make weights` (or pass --weights FILE)")
            }
            return p
        }
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: spec, isDirectory: &isDir)
        let path = exists && isDir.boolValue ? spec + "/model.safetensors" : spec
        if fm.isReadableFile(atPath: path) { return path }
        let lower = spec.lowercased()
        let how: String
        if lower.contains("lora") { how = "`make lora` (or `woof-dist train --mode lora`)" }
        else if lower.contains("full") { how = "`make full` (or `woof-dist train --mode full`)" }
        else { how = "`make full` / `make lora` (or `woof-dist train --mode full|lora`)" }
        throw TrainError.invalidOption("\(spec): no trained model at \(path) — it is produced by \(how); "
                                       + "use `--models pretrained,...` to choose other models")
    }

    static func slug(for spec: String, path: String) -> String {
        if spec == "pretrained" { return "pretrained" }
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent == "model.safetensors"
            ? url.deletingLastPathComponent().lastPathComponent : url.deletingPathExtension().lastPathComponent
        let cleaned = String(name.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
        return cleaned.isEmpty ? "model" : cleaned
    }

    static func label(for spec: String, slug: String) -> String {
        if spec == "pretrained" { return "original ViT" }
        let l = slug.lowercased()
        if l.contains("lora") { return "LoRA" }
        if l.contains("full") { return "full FT" }
        return slug
    }

    /// The ten-way prediction (label index) of a logits row; a 1000-class model is scored
    /// on the ImageWoof classes' ImageNet logits (zero-shot), as `evaluate(zeroShot:)` does.
    static func predict(_ logits: [Float], classes: Int) -> Int {
        if logits.count == 1000 && classes == ImageWoof.imageNetIndices.count {
            return (0..<classes).max { logits[ImageWoof.imageNetIndices[$0]] < logits[ImageWoof.imageNetIndices[$1]] }!
        }
        return logits.indices.max { logits[$0] < logits[$1] }!
    }

    /// Writes the figures, `attention_change.csv`, `attention_stats.csv` and
    /// `attention_change.txt` into `options.out`; returns what was written and the table.
    public static func run(_ o: AttentionOptions, log: (String) -> Void) throws -> AttentionReportResult {
        try checkOptions(o)
        let (loaded, entries) = try loadModels(o, log: log)
        let cfg = loaded[0].config, grid = cfg.imgSize / cfg.patchSize
        let classes = try ClassList(o)
        let shown = try imagesToDraw(o, classes: classes)
        let mapsDir = o.out + "/maps"
        try FileManager.default.createDirectory(atPath: mapsDir, withIntermediateDirectories: true)
        var result = AttentionReportResult()
        let tape = Tape()
        tape.isRecording = false

        // 1. Per-image maps of every model (all blocks captured, for the rollout).
        let (crops, maps) = try imageMaps(shown, models: loaded, classes: classes.wnids.count, batchSize: o.batchSize,
                                          explain: o.explain, tape: tape)
        let described = try writeMaps(shown: shown, crops: crops, maps: maps, entries: entries, classes: classes,
                                      patchGrid: grid, threshold: o.threshold, explain: o.explain, out: o.out)
        result.grid = described
        result.gridPath = o.out + "/" + AttentionGrid.fileName
        try AtomicFile.write(try JSONFile.encoded(described), to: result.gridPath)
        log("maps: \(described.images.count) images × \(entries.count) models in \(mapsDir)/, described by \(result.gridPath)")

        // 2. Change metrics over the val images of each class, and the high-norm patches.
        guard let val = classes.val, !classes.wnids.isEmpty else {
            result.table = "no val split: no change metrics or deletion test\n"
            return result
        }
        var thresholds: [Double]? = nil
        if o.metricImages != 0 {
            let metric = try metricMaps(o, val: val, models: loaded, tape: tape)
            let headNames = (0..<cfg.numHeads).map(String.init) + ["mean"]
            let groups = classGroups(classes, labels: metric.labels)
            result.rows = changeRows(entries: entries, metric, groups: groups, headNames: headNames)
            result.stats = statsRows(entries: entries, metric, groups: groups, headNames: headNames)
            try writeNumbers(&result, o, n: metric.labels.count, headNames: headNames, groups: groups, log: log)
            thresholds = try writeArtifacts(&result, o, metric, entries: entries, grid: grid, log: log)
        } else {
            result.table = "no change metrics (--metric-images 0)\n"
        }
        // 3. The deletion test.
        if o.faithfulnessImages > 0 {
            result.faithfulness = try AttentionFaithfulness.run(o, val: val, models: loaded, entries: entries,
                                                                normThresholds: thresholds, tape: tape, log: log)
            let path = o.out + "/" + AttentionFaithfulness.fileName
            try AttentionFaithfulness.table(result.faithfulness).write(to: path)
            result.table += "\n" + AttentionFaithfulness.text(result.faithfulness)
            try AtomicFile.write(Data(result.table.utf8), to: o.out + "/attention_change.txt")
            log("deletion test: \(path)")
        }
        return result
    }

    /// `attention_artifacts.csv` and `attention_change_artifacts.csv` from the metric pass;
    /// returns each unique model's high-norm threshold.
    static func writeArtifacts(_ result: inout AttentionReportResult, _ o: AttentionOptions, _ mm: MetricMaps,
                               entries: [ModelEntry], grid: Int, log: (String) -> Void) throws -> [Double] {
        let views = mm.views
        func means(_ u: Int) -> [[Float]] { mm.labels.indices.map { mm.dists[u][$0 * views + views - 1] } }
        let thresholds = mm.norms.map { AttentionArtifacts.threshold($0, factor: o.artifactFactor).threshold }
        result.artifacts = entries.map { AttentionArtifacts.row(model: $0.slug, cls: means($0.unique), norms: mm.norms[$0.unique],
                                                                grid: grid, factor: o.artifactFactor) }
        func excluded(_ u: Int) -> [[Bool]] { mm.norms[u].map { AttentionArtifacts.mask($0, threshold: thresholds[u]) } }
        result.artifactChange = []
        for a in entries.indices { for b in entries.indices where b > a {
            let ua = entries[a].unique, ub = entries[b].unique
            result.artifactChange.append(AttentionArtifacts.change(entries[a].slug, entries[b].slug, mapsA: means(ua), mapsB: means(ub),
                                                                   excludedA: excluded(ua), excludedB: excluded(ub), threshold: o.threshold))
        } }
        try AttentionArtifacts.table(result.artifacts).write(to: o.out + "/attention_artifacts.csv")
        try AttentionArtifacts.changeTable(result.artifactChange).write(to: o.out + "/attention_change_artifacts.csv")
        result.table += "\n" + AttentionArtifacts.text(result.artifacts, result.artifactChange, factor: o.artifactFactor)
        try AtomicFile.write(Data(result.table.utf8), to: o.out + "/attention_change.txt")
        log("high-norm patches: \(o.out)/attention_artifacts.csv, \(o.out)/attention_change_artifacts.csv")
        return thresholds
    }

    /// Fails on options that make no sense, before any work.
    static func checkOptions(_ o: AttentionOptions) throws {
        guard !o.models.isEmpty else { throw TrainError.invalidOption("--models is empty") }
        guard o.threshold > 0 && o.threshold <= 1 else { throw TrainError.invalidOption("--threshold must be in (0, 1]") }
        guard o.batchSize > 0 else { throw TrainError.invalidOption("--batch-size must be positive") }
        guard o.perClass > 0 || !o.images.isEmpty else { throw TrainError.invalidOption("--per-class must be positive") }
        if let m = o.metricImages, m < 0 { throw TrainError.invalidOption("--metric-images must be ≥ 0") }
        guard o.faithfulnessImages >= 0 else { throw TrainError.invalidOption("--faithfulness-images must be ≥ 0") }
        guard o.artifactFactor > 1, o.artifactFactor.isFinite else { throw TrainError.invalidOption("--artifact-factor must be above 1") }
        let unknown = o.explain.subtracting(AttentionOptions.allExplanations)
        guard unknown.isEmpty, !o.explain.isEmpty else {
            throw TrainError.invalidOption("--explain \(unknown.sorted().joined(separator: ",")): choose from cls, rollout, gt, pred")
        }
    }

    /// Loads each distinct weights file once; every `--models` entry gets a unique slug and
    /// label (a repeated one is numbered).
    static func loadModels(_ o: AttentionOptions, log: (String) -> Void) throws -> (loaded: [VisionTransformer], entries: [ModelEntry]) {
        // Resolve every spec first so a missing one fails before any work.
        let paths = try o.models.map { try resolveModelPath($0, weights: o.weights) }
        var uniquePaths: [String] = []
        var loaded: [VisionTransformer] = []
        var entries: [ModelEntry] = []
        var usedSlugs: [String: Int] = [:]
        for (spec, path) in zip(o.models, paths) {
            let u: Int
            if let i = uniquePaths.firstIndex(of: path) { u = i } else {
                let model = try modelForEvaluation(weights: path)
                guard model.config.tokens == 197 && model.config.imgSize == ImageTransform.cropSize else {
                    throw TrainError.invalidOption("\(path): not a ViT-Ti/16 at 224 px")
                }
                uniquePaths.append(path); loaded.append(model); u = loaded.count - 1
                log("model \(spec): \(path) (\(model.config.numClasses) classes)")
            }
            var s = slug(for: spec, path: path)
            let seen = usedSlugs[s, default: 0]
            usedSlugs[s] = seen + 1
            let lab = label(for: spec, slug: s)
            if seen > 0 { s += "_\(seen + 1)" }
            entries.append(ModelEntry(spec: spec, path: path, slug: s, label: seen > 0 ? "\(lab) (\(seen + 1))" : lab, unique: u))
        }
        return (loaded, entries)
    }

    /// The class list (train folders), their display names, and the val split when the
    /// default images or the metrics need it.
    struct ClassList {
        let val: ImageFolder?
        let wnids: [String]
        let fullNames: [String]

        init(_ o: AttentionOptions) throws {
            let root = resolveDataRoot(explicit: o.data)
            let needVal = o.images.isEmpty || o.metricImages != 0
            val = needVal ? try ImageFolder(root: root.path, split: "val") : nil
            let wnids = val?.classes ?? ((try? ImageFolder.classFolders(root: root.path, split: "train")) ?? [])
            self.wnids = wnids
            fullNames = o.classNames.map { $0(wnids) }.flatMap { $0.count == wnids.count ? $0 : nil } ?? wnids
        }

        /// A caption-sized class name ("?" for none).
        func shortName(_ label: Int?) -> String {
            guard let l = label, l >= 0, l < wnids.count else { return "?" }
            return ImageWoof.breed(wnid: wnids[l])?.shortName ?? fullNames[l]
        }
    }

    /// An image to draw: its file, its class (nil when its folder is not one) and the name shown.
    typealias ShownImage = (path: String, label: Int?, name: String)

    /// `--images`, or else the first `perClass` val images of each class.
    static func imagesToDraw(_ o: AttentionOptions, classes: ClassList) throws -> [ShownImage] {
        var shown: [ShownImage] = []
        if o.images.isEmpty, let val = classes.val {
            var taken = [Int](repeating: 0, count: classes.wnids.count)
            for (i, s) in val.samples.enumerated() where taken[s.label] < o.perClass {
                taken[s.label] += 1
                shown.append((val.path(of: i), s.label, s.relativePath))
            }
        } else {
            for p in o.images {
                let parent = URL(fileURLWithPath: p).deletingLastPathComponent().lastPathComponent
                shown.append((p, classes.wnids.firstIndex(of: parent), p))
            }
        }
        guard !shown.isEmpty else { throw TrainError.invalidOption("no images to draw") }
        return shown
    }

    /// The model output index of ten-way class `label`: a 1000-class model's ImageNet row.
    static func outputIndex(_ label: Int, model: VisionTransformer, classes: Int) -> Int {
        model.config.numClasses == 1000 && classes == ImageWoof.imageNetIndices.count ? ImageWoof.imageNetIndices[label] : label
    }

    /// Maps of one image under one model: for the true class, and for the predicted one
    /// when it differs.
    struct ImageMaps {
        var gt: ExplanationMaps
        var pred: ExplanationMaps?
        var predicted: Int
        /// The map drawn for the prediction (the true class's when they agree).
        var predMap: [Float]? { (pred ?? gt).relevance }
    }

    /// The 224 crops of `shown` and, per unique model and image, its maps.
    static func imageMaps(_ shown: [ShownImage], models loaded: [VisionTransformer], classes: Int, batchSize: Int,
                          explain: Set<String>, tape: Tape) throws -> (crops: [RGBCanvas], maps: [[ImageMaps?]]) {
        let cfg = loaded[0].config
        let per = ImageTransform.floatsPerImage
        let input = UnsafeMutablePointer<Float>.allocate(capacity: shown.count * per)
        defer { input.deallocate() }
        var crops: [RGBCanvas] = []
        for (i, s) in shown.enumerated() {
            let img = try decodeJPEG(path: s.path)
            evalTransform(img, into: input + i * per)
            crops.append(cropCanvas(input + i * per, side: cfg.imgSize))
        }
        let gradients = !explain.isDisjoint(with: ["gt", "pred"])
        var maps = [[ImageMaps?]](repeating: [ImageMaps?](repeating: nil, count: shown.count), count: loaded.count)
        for (m, model) in loaded.enumerated() {
            let explainer = ClassExplainer(model: model)
            for start in stride(from: 0, to: shown.count, by: batchSize) {
                let n = min(batchSize, shown.count - start)
                // Without a class (an image outside the class folders) the prediction stands in;
                // only then is a forward pass spent on finding it first.
                var targets: [Int]? = nil
                if gradients {
                    let labels = shown[start..<(start + n)].map(\.label)
                    let plain = labels.contains(nil) ? explainer.explain(images: input + start * per, count: n, targets: nil,
                                                                         tape: tape, rollout: false) : nil
                    targets = labels.enumerated().map { i, label in
                        outputIndex(label ?? predict(plain![i].logits, classes: classes), model: model, classes: classes)
                    }
                }
                let gt = explainer.explain(images: input + start * per, count: n, targets: targets, tape: tape)
                for i in 0..<n {
                    let p = predict(gt[i].logits, classes: classes)
                    var entry = ImageMaps(gt: gt[i], pred: nil, predicted: p)
                    let pIndex = outputIndex(p, model: model, classes: classes)
                    if gradients && explain.contains("pred") && pIndex != targets![i] {
                        entry.pred = explainer.explain(images: input + (start + i) * per, count: 1, targets: [pIndex], tape: tape)[0]
                    }
                    maps[m][start + i] = entry
                }
            }
        }
        return (crops, maps)
    }

    /// Writes, per image, its crop (`maps/NN_<stem>_crop.jpg`) and per model the mean-head map
    /// (`…_<slug>.jpg`), each other explanation asked for (`…_<slug>_<view>.jpg`) and all
    /// views side by side (`…_<slug>_panels.png`); returns the grid that describes them.
    static func writeMaps(shown: [ShownImage], crops: [RGBCanvas], maps: [[ImageMaps?]], entries: [ModelEntry],
                          classes: ClassList, patchGrid: Int, threshold: Float, explain: Set<String>,
                          out: String) throws -> AttentionGrid {
        var images: [AttentionGrid.Image] = []
        let views = drawnViews(explain)
        for (i, s) in shown.enumerated() {
            let stem = String(format: "maps/%02d_%@", i, URL(fileURLWithPath: s.path).deletingPathExtension().lastPathComponent)
            try writeJPEG(crops[i], to: out + "/" + stem + "_crop.jpg")
            var cells: [AttentionGrid.Cell] = []
            for e in entries {
                let m = maps[e.unique][i]!
                let pred = m.predicted
                let (mask, mass) = AttentionAnalysis.thresholdMask(m.gt.cls, threshold: threshold)
                var cell = AttentionGrid.Cell(model: e.slug, map: "\(stem)_\(e.slug).jpg", panels: "\(stem)_\(e.slug)_panels.png",
                                              predictedClass: pred < classes.wnids.count ? classes.wnids[pred] : "class \(pred)",
                                              predictedName: classes.shortName(pred), correct: s.label.map { $0 == pred },
                                              maskPatches: mask.filter { $0 }.count, maskMass: Double(mass))
                try writeJPEG(overlayMap(crops[i], m.gt.cls, grid: patchGrid), to: out + "/" + cell.map)
                var tiles = m.gt.heads.map { overlayMap(crops[i], $0, grid: patchGrid) }
                    + [overlayMap(crops[i], m.gt.cls, grid: patchGrid), maskView(crops[i], mask: mask, grid: patchGrid)]
                var files: [String: String] = [:]
                for v in views {
                    let drawn = overlayMap(crops[i], view(v, of: m), grid: patchGrid)
                    tiles.append(drawn)
                    files[v] = "\(stem)_\(e.slug)_\(v).jpg"
                    try writeJPEG(drawn, to: out + "/" + files[v]!)
                }
                cell.views = files
                try tile(tiles, columns: tiles.count, padding: padding).writePNG(path: out + "/" + cell.panels)
                cells.append(cell)
            }
            images.append(.init(source: s.path, wnid: s.label.map { classes.wnids[$0] }, className: classes.shortName(s.label),
                                crop: stem + "_crop.jpg", cells: cells))
        }
        let heads = maps.lazy.compactMap { $0.first ?? nil }.first?.gt.heads.count ?? 0
        return AttentionGrid(method: "class-token attention of the last block (mean over heads)",
                             panelCaptions: (0..<heads).map { "head \($0)" } + ["mean of heads", "mask: \(Int((threshold * 100).rounded()))% of the mass"]
                                + views.map { viewCaptions[$0]! },
                             threshold: Double(threshold), models: entries.map { .init(slug: $0.slug, label: $0.label, path: $0.path) },
                             images: images)
    }

    /// The views after the per-head, mean and mask panels, in panel order.
    static func drawnViews(_ explain: Set<String>) -> [String] {
        ["rollout", "gt", "gt_last", "pred"].filter { explain.contains($0 == "gt_last" ? "gt" : $0) }
    }

    static let viewCaptions = ["rollout": "rollout", "gt": "relevance for the true class (Chefer et al.)",
                               "gt_last": "gradient × attention of the last block, true class",
                               "pred": "relevance for the predicted class (Chefer et al.)"]

    static func view(_ v: String, of m: ImageMaps) -> [Float] {
        switch v {
        case "rollout": return m.gt.rollout
        case "gt": return m.gt.relevance ?? m.gt.cls
        case "gt_last": return m.gt.lastBlockGradient ?? m.gt.cls
        default: return m.predMap ?? m.gt.cls
        }
    }

    static func writeJPEG(_ c: RGBCanvas, to path: String) throws {
        try AtomicFile.write(try encodeJPEG(pixels: c.pixels, width: c.width, height: c.height, components: 3, quality: 90), to: path)
    }

    // MARK: Numbers

    /// Per unique model and metric image: the CLS→patch maps of each head and their mean
    /// (`views` per image, image-major), their thresholded masks and the prediction; and
    /// the images' labels.
    struct MetricMaps {
        let views: Int
        var dists: [[[Float]]]
        var masks: [[[Bool]]]
        var preds: [[Int]]
        var labels: [Int]
        /// Per model and image: the norm of each patch token entering the last block.
        var norms: [[[Float]]]

        init(models: Int, images n: Int, views: Int) {
            self.views = views
            dists = [[[Float]]](repeating: [[Float]](repeating: [], count: n * views), count: models)
            masks = [[[Bool]]](repeating: [[Bool]](repeating: [], count: n * views), count: models)
            preds = [[Int]](repeating: [Int](repeating: -1, count: n), count: models)
            labels = [Int](repeating: 0, count: n)
            norms = [[[Float]]](repeating: [[Float]](repeating: [], count: n), count: models)
        }
    }

    /// Runs every model over the first `--metric-images` val images of each class (all by default).
    static func metricMaps(_ o: AttentionOptions, val: ImageFolder, models loaded: [VisionTransformer],
                           tape: Tape) throws -> MetricMaps {
        var counts = [Int](repeating: 0, count: val.classes.count)
        let metricSet = val.filtered { i in
            let l = val.samples[i].label
            counts[l] += 1
            return o.metricImages.map { counts[l] <= $0 } ?? true
        }
        let n = metricSet.count
        let cfg = loaded[0].config
        let views = cfg.numHeads + 1
        var out = MetricMaps(models: loaded.count, images: n, views: views)
        let loader = BatchLoader(dataset: metricSet, batchSize: o.batchSize, mode: .eval, workers: 2, prefetch: 2)
        let progress = Progress("attention", total: n)
        progress.enabled = o.showProgress
        loader.startEpoch(0)
        var seen = 0
        while let batch = try loader.next() {
            for i in 0..<batch.count { out.labels[seen + i] = Int(batch.labels[i]) }
            let base = seen
            for (m, model) in loaded.enumerated() {
                let maps = ClassExplainer(model: model).explain(images: batch.images, count: batch.count, targets: nil,
                                                                tape: tape, rollout: false)
                for (i, e) in maps.enumerated() {
                    for (v, d) in (e.heads + [e.cls]).enumerated() {
                        out.dists[m][(base + i) * views + v] = d
                        out.masks[m][(base + i) * views + v] = AttentionAnalysis.thresholdMask(d, threshold: o.threshold).mask
                    }
                    out.preds[m][base + i] = predict(e.logits, classes: val.classes.count)
                    out.norms[m][base + i] = e.patchNorms
                }
            }
            seen += batch.count
            progress.advance(by: batch.count)
        }
        progress.finish()
        loader.stop()
        return out
    }

    /// A class's metric images (indices into `MetricMaps`), or all of them as class `all`.
    typealias ClassGroup = (wnid: String, name: String, images: [Int])

    /// Each class, then `all`.
    static func classGroups(_ classes: ClassList, labels: [Int]) -> [ClassGroup] {
        let n = labels.count
        return classes.wnids.indices.map { c in (classes.wnids[c], classes.fullNames[c], (0..<n).filter { labels[$0] == c }) }
            + [("all", "all", Array(0..<n))]
    }

    /// Mean JS divergence and mask IoU per model pair (in `entries` order), head and group.
    static func changeRows(entries: [ModelEntry], _ mm: MetricMaps, groups: [ClassGroup],
                           headNames: [String]) -> [AttentionChangeRow] {
        let views = mm.views
        var rows: [AttentionChangeRow] = []
        for a in entries.indices {
            for b in entries.indices where b > a {
                let ua = entries[a].unique, ub = entries[b].unique
                for v in 0..<views {
                    for g in groups {
                        var js = 0.0, iou = 0.0
                        for i in g.images {
                            js += AttentionAnalysis.jensenShannon(mm.dists[ua][i * views + v], mm.dists[ub][i * views + v])
                            iou += AttentionAnalysis.iou(mm.masks[ua][i * views + v], mm.masks[ub][i * views + v])
                        }
                        let k = Double(max(g.images.count, 1))
                        rows.append(.init(modelA: entries[a].slug, modelB: entries[b].slug, head: headNames[v],
                                          wnid: g.wnid, className: g.name, images: g.images.count,
                                          js: js / k, iou: iou / k))
                    }
                }
            }
        }
        return rows
    }

    /// Mean mask size, entropy and accuracy per model entry, head and group.
    static func statsRows(entries: [ModelEntry], _ mm: MetricMaps, groups: [ClassGroup],
                          headNames: [String]) -> [AttentionStatsRow] {
        let views = mm.views
        var rows: [AttentionStatsRow] = []
        for e in entries {
            let u = e.unique
            for v in 0..<views {
                for g in groups {
                    var patches = 0.0, entropy = 0.0, correct = 0
                    for i in g.images {
                        patches += Double(mm.masks[u][i * views + v].filter { $0 }.count)
                        entropy += AttentionAnalysis.entropy(mm.dists[u][i * views + v])
                        if mm.preds[u][i] == mm.labels[i] { correct += 1 }
                    }
                    let k = Double(max(g.images.count, 1))
                    rows.append(.init(model: e.slug, head: headNames[v], wnid: g.wnid, className: g.name,
                                      images: g.images.count, maskPatches: patches / k, entropy: entropy / k,
                                      accuracy: Double(correct) / k))
                }
            }
        }
        return rows
    }

    /// `attention_change.csv`, `attention_stats.csv` and the table (`attention_change.txt`).
    static func writeNumbers(_ result: inout AttentionReportResult, _ o: AttentionOptions, n: Int, headNames: [String],
                             groups: [ClassGroup], log: (String) -> Void) throws {
        result.csvPath = o.out + "/attention_change.csv"
        try changeTable(result.rows).write(to: result.csvPath)
        try statsTable(result.stats).write(to: o.out + "/attention_stats.csv")
        result.table = table(result, n: n, threshold: o.threshold, headNames: headNames, groups: groups)
        try AtomicFile.write(Data(result.table.utf8), to: o.out + "/attention_change.txt")
        log("numbers: \(result.csvPath), \(o.out)/attention_stats.csv, \(o.out)/attention_change.txt")
    }

    /// The rows of `attention_change.csv`.
    static func changeTable(_ rows: [AttentionChangeRow]) -> CSVTable {
        var t = CSVTable(header: ["model_a", "model_b", "head", "class", "class_name", "images", "js_mean", "iou_mean"])
        for r in rows {
            t.append([r.modelA, r.modelB, r.head, r.wnid, r.className, "\(r.images)",
                      String(format: "%.6f", r.js), String(format: "%.6f", r.iou)])
        }
        return t
    }

    /// The rows of `attention_stats.csv`.
    static func statsTable(_ rows: [AttentionStatsRow]) -> CSVTable {
        var t = CSVTable(header: ["model", "head", "class", "class_name", "images", "mask_patches_mean", "entropy_mean", "accuracy"])
        for r in rows {
            t.append([r.model, r.head, r.wnid, r.className, "\(r.images)",
                      String(format: "%.3f", r.maskPatches), String(format: "%.6f", r.entropy), String(format: "%.6f", r.accuracy)])
        }
        return t
    }

    // MARK: Text

    static func table(_ r: AttentionReportResult, n: Int, threshold: Float, headNames: [String],
                      groups: [(wnid: String, name: String, images: [Int])]) -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s.padding(toLength: w, withPad: " ", startingAt: 0) }
        var s = "Attention change, last block CLS->patch attention, \(n) val images "
            + "(JS divergence in nats, max ln 2 = 0.693; IoU of the \(Int((threshold * 100).rounded()))%-mass masks)\n"
        s += pad("model A", 14) + pad("model B", 14) + pad("head", 6) + pad("images", 8) + pad("JS", 8) + "IoU\n"
        for row in r.rows where row.wnid == "all" {
            s += pad(row.modelA, 14) + pad(row.modelB, 14) + pad(row.head, 6) + pad("\(row.images)", 8)
                + pad(String(format: "%.4f", row.js), 8) + String(format: "%.3f", row.iou) + "\n"
        }
        let pairs = r.rows.filter { $0.wnid == "all" && $0.head == "mean" }.map { ($0.modelA, $0.modelB) }
        if !pairs.isEmpty {
            s += "\nPer class, mean of heads (JS / IoU):\n" + pad("class", 22) + pad("images", 8)
            s += pairs.map { pad("\($0.0)->\($0.1)", 27) }.joined() + "\n"
            for g in groups {
                let rows = r.rows.filter { $0.wnid == g.wnid && $0.head == "mean" }
                s += pad(g.name, 22) + pad("\(g.images.count)", 8)
                    + rows.map { pad(String(format: "%.4f / %.3f", $0.js, $0.iou), 27) }.joined() + "\n"
            }
        }
        let models = r.stats.reduce(into: [String]()) { if !$0.contains($1.model) { $0.append($1.model) } }
        s += "\nPer model, all metric images: accuracy, patches in the mask (of 196) and entropy (nats; uniform = 5.28)\n"
        s += pad("model", 14) + pad("acc", 8) + headNames.map { pad("h\($0) patches/H", 18) }.joined() + "\n"
        for m in models {
            let rows = r.stats.filter { $0.model == m && $0.wnid == "all" }
            s += pad(m, 14) + pad(String(format: "%.2f%%", 100 * (rows.first?.accuracy ?? 0)), 8)
                + headNames.map { h in
                    let x = rows.first { $0.head == h }!
                    return pad(String(format: "%.1f / %.2f", x.maskPatches, x.entropy), 18)
                }.joined() + "\n"
        }
        return s
    }

    // MARK: Drawing

    /// The 224 crop as the model sees it, recovered exactly from the normalised CHW floats
    /// ((x · 0.5 + 0.5) · 255 is the original byte).
    static func cropCanvas(_ chw: UnsafePointer<Float>, side: Int) -> RGBCanvas {
        let plane = side * side
        var px = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            for c in 0..<3 {
                let v = (chw[c * plane + i] * 0.5 + 0.5) * 255
                px[i * 3 + c] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return try! RGBCanvas(width: side, height: side, pixels: px)
    }

    /// `map` (a `grid`×`grid` distribution) min–max scaled, upsampled and overlaid on `image`.
    static func overlayMap(_ image: RGBCanvas, _ map: [Float], grid: Int, alpha: Float = 0.6) -> RGBCanvas {
        let heat = upsampleBilinear(normalized(map), gw: grid, gh: grid, to: image.width, image.height)
        return overlay(image: image, heat: heat, alpha: alpha)
    }

    /// DINO's thresholded map: the crop dimmed outside the mask's patches, the mask outlined.
    static func maskView(_ image: RGBCanvas, mask: [Bool], grid: Int) -> RGBCanvas {
        var out = image
        let w = image.width, h = image.height
        func x0(_ c: Int) -> Int { c * w / grid }
        func y0(_ r: Int) -> Int { r * h / grid }
        func inside(_ r: Int, _ c: Int) -> Bool { r >= 0 && c >= 0 && r < grid && c < grid && mask[r * grid + c] }
        for r in 0..<grid { for c in 0..<grid where !mask[r * grid + c] {
            out.fillRect(x: x0(c), y: y0(r), width: x0(c + 1) - x0(c), height: y0(r + 1) - y0(r), .black, alpha: 0.7)
        } }
        let edge = RGBColor(253, 231, 37), t = 2
        for r in 0..<grid { for c in 0..<grid where mask[r * grid + c] {
            let xa = x0(c), xb = x0(c + 1), ya = y0(r), yb = y0(r + 1)
            if !inside(r - 1, c) { out.fillRect(x: xa, y: ya, width: xb - xa, height: t, edge) }
            if !inside(r + 1, c) { out.fillRect(x: xa, y: yb - t, width: xb - xa, height: t, edge) }
            if !inside(r, c - 1) { out.fillRect(x: xa, y: ya, width: t, height: yb - ya, edge) }
            if !inside(r, c + 1) { out.fillRect(x: xb - t, y: ya, width: t, height: yb - ya, edge) }
        } }
        return out
    }

}
