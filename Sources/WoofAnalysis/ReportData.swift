import Foundation
import WoofTrain
import WoofCore
import WoofData
import WoofDist
import WoofModel
import WoofViz
import WoofIO

/// `woof-dist results`, first half: gathers the measured results under `output/` into the
/// small files the paper is built from (`report/results/`): one flat `summary.json` of every
/// headline number, CSVs for tables and plots, and the attention figure's tiles with their
/// captions as data (attention_grid.csv).
/// The second half (`ReportTeX`) turns those files alone into LaTeX.
public enum ReportData {
    /// What produces each input, for error messages.
    static let stage: [String: String] = [
        "baseline": "run `make baseline`", "full_model": "run `make full`", "lora_model": "run `make lora`",
        "scaling": "run `make scaling`", "attention": "run `make attention`",
    ]

    /// A fraction of the val set as a number of images (`nil` before `val_images` is known).
    static func valImages(_ fraction: Double, _ s: PaperNumbers) -> Int? {
        (s["val_images"] as Double?).map { Int((fraction * $0).rounded()) }
    }

    /// Lower-case identifier of a class name: "Old English sheepdog" → "old_english_sheepdog".
    static func slug(_ s: String) -> String {
        let parts = s.lowercased().split { !($0.isLetter || $0.isNumber) }
        return parts.joined(separator: "_")
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// One training run's summary and per-epoch metrics.
    struct Run {
        var summary: RunSummary
        var epochs: [EpochMetrics]
        /// The summary's and the metrics' files, for messages.
        var path: String
        var metricsPath: String
        var config: TrainConfig { summary.config }

        init(dir: String, name: String) throws {
            let stage = ReportData.stage[name] ?? "run the training stage"
            path = dir + "/summary.json"
            metricsPath = dir + "/metrics.jsonl"
            summary = try JSONFile.read(RunSummary.self, from: path, missing: stage)
            epochs = try JSONFile.readLines(EpochMetrics.self, from: metricsPath, missing: stage)
            guard !epochs.isEmpty else { throw TrainError.io("\(metricsPath): no epochs") }
        }

        /// The final val top-1 (a run that never evaluated has none, and the paper needs it).
        func finalTop1() throws -> Double { try JSONFile.require(summary.finalValTop1, "final_val_top1", in: path) }

        /// Each epoch's val top-1: the paper's curves need one after every epoch.
        func valTop1s() throws -> [Double] {
            try epochs.enumerated().map { i, e in try JSONFile.require(e.valTop1, "line \(i + 1): val_top1", in: metricsPath) }
        }
    }

    /// Reads `outputDir` and writes the report files into `reportDir`; returns the paths written.
    /// An optional section (study, bench) whose input is absent keeps `reportDir`'s file: the
    /// call fails rather than drop it, unless `dropMissing` (a directory of generated files).
    public static func collect(outputDir out: String, reportDir: String, dropMissing: Bool = false,
                               log: (String) -> Void = { _ in }) throws -> [String] {
        // Refuse before writing anything, so a refused run leaves reportDir as it was.
        for (src, dst, _, _) in optionalInputs(out) where !FileManager.default.fileExists(atPath: src) {
            try refuseToDrop(reportDir + "/" + dst, missing: src, unless: dropMissing)
        }
        if !FileManager.default.fileExists(atPath: out + "/network/network.csv") {
            try refuseToDrop(reportDir + "/network.csv", missing: out + "/network/network.csv", unless: dropMissing)
        }
        if !FileManager.default.fileExists(atPath: out + "/weightspace/alpha_sweep.csv") {
            try refuseToDrop(reportDir + "/ws_alpha_sweep.csv", missing: out + "/weightspace/alpha_sweep.csv", unless: dropMissing)
        }
        try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
        var written: [String] = []
        func write(_ name: String, _ text: String) throws {
            try AtomicFile.write(Data(text.utf8), to: reportDir + "/" + name)
            written.append(reportDir + "/" + name)
        }
        // Every flag false until its section is found (numbers.tex defines them all anyway).
        var s = PaperNumbers(Dictionary(uniqueKeysWithValues: ReportTeX.flags.map { ($0, PaperValue.flag(false)) }))

        // Zero-shot baseline, full fine-tuning, LoRA.
        let (classes, full, lora) = try mainRuns(out, into: &s, write: write)
        try recipeNumbers(full: full, into: &s)
        try write("heldout.csv", try heldOutNumbers(outputDir: out, expectedTop1: ["full": full, "lora": lora], into: &s, log: log))
        try loraNumbers(lora: lora, full: full, classes: classes, into: &s)
        try fileSizes(out, into: &s)
        try write("curves.csv", try curvesCSV(full: full, lora: lora))
        try scalingNumbers(out, into: &s, write: write)
        let calibration = try optionalNetwork(out, reportDir: reportDir, dropMissing: dropMissing, into: &s, write: write, log: log)
        try projectionNumbers(scalingCSV: out + "/scaling/scaling.csv", calibration: calibration, into: &s, write: write)
        try attentionNumbers(out, classes: classes.count, into: &s, write: write)
        try attentionExtras(out, into: &s, write: write)
        written += try attentionFigure(out, reportDir: reportDir, write: write, log: log)
        try optionalNumbers(out, reportDir: reportDir, dropMissing: dropMissing, into: &s, write: write, log: log)
        try optionalWeightSpace(out, reportDir: reportDir, dropMissing: dropMissing, into: &s, write: write, log: log)

        try write("summary.json", String(decoding: try JSONFile.encoded(s), as: UTF8.self))
        return written
    }

    /// The zero-shot baseline and the two fine-tuned runs: per-class accuracy (per_class.csv),
    /// the zero-shot head's top confusion.
    static func mainRuns(_ out: String, into s: inout PaperNumbers,
                         write: (String, String) throws -> Void) throws -> (classes: [String], full: Run, lora: Run) {
        let bpath = out + "/baseline/summary.json"
        let base = try JSONFile.read(EvalSummary.self, from: bpath, missing: stage["baseline"]!)
        let classes = base.classes, confusion = base.confusion
        guard confusion.count == classes.count, confusion.allSatisfy({ $0.count == classes.count }) else {
            throw TrainError.io("\(bpath): confusion: not \(classes.count) × \(classes.count) for the \(classes.count) classes")
        }
        // The zero-shot head's most frequent confusion (true → predicted) and its reverse.
        var top = (0, 1, -1)
        for i in classes.indices { for j in classes.indices where i != j && confusion[i][j] > top.2 { top = (i, j, confusion[i][j]) } }
        s["zero_shot_top_confusion_images"] = top.2
        s["zero_shot_top_confusion_reverse_images"] = confusion[top.1][top.0]
        s["zero_shot_top_confusion_true_class"] = classes[top.0]
        s["zero_shot_top_confusion_pred_class"] = classes[top.1]
        let full = try Run(dir: out + "/full_model", name: "full_model")
        let lora = try Run(dir: out + "/lora_model", name: "lora_model")
        for (r, mode) in [(full, "full"), (lora, "lora")] where r.summary.mode != mode {
            throw TrainError.io("\(r.path): mode is '\(r.summary.mode)', expected '\(mode)'")
        }
        let perClass = [("zero_shot", base.perClass),
                        ("full", try JSONFile.require(full.summary.finalValPerClass, "final_val_per_class", in: full.path)),
                        ("lora", try JSONFile.require(lora.summary.finalValPerClass, "final_val_per_class", in: lora.path))]
        for (name, v) in perClass where v.count != classes.count {
            throw TrainError.io("\(name): \(v.count) per-class accuracies for \(classes.count) classes")
        }
        s["val_images"] = base.images
        s["val_classes_count"] = classes.count
        s["zero_shot_top1"] = base.top1
        s["zero_shot_eval_img_per_s"] = base.imagesPerSecond
        var csv = CSVTable(header: ["class", "images"] + perClass.map { $0.0 + "_top1" })
        for (i, c) in classes.enumerated() {
            csv.append([c, "\(confusion[i].reduce(0, +))"] + perClass.map { String(format: "%.6f", $0.1[i]) })
            for (name, v) in perClass { s["\(name)_\(slug(c))_top1"] = v[i] }
        }
        try write("per_class.csv", csv.text)
        try runNumbers(full: full, lora: lora, zeroShotTop1: base.top1, into: &s)
        return (classes, full, lora)
    }

    /// Each run's headline numbers and the comparisons between them.
    static func runNumbers(full: Run, lora: Run, zeroShotTop1: Double, into s: inout PaperNumbers) throws {
        for (r, m) in [(full, "full"), (lora, "lora")] {
            let sum = r.summary
            s["\(m)_top1"] = try r.finalTop1()
            s["\(m)_best_top1"] = try JSONFile.require(sum.bestValTop1, "best_val_top1", in: r.path)
            s["\(m)_train_min"] = sum.trainSeconds / 60
            s["\(m)_train_img_per_s"] = sum.trainImagesPerSecond
            s["\(m)_trainable_params"] = sum.trainableParams
            s["\(m)_peak_rss_mib"] = sum.peakRSSMiB
            s["\(m)_train_steps"] = sum.steps
            s["\(m)_epochs"] = sum.epochs
            s["\(m)_lr"] = sum.learningRate
            s["\(m)_commit"] = String((sum.gitCommit ?? "unknown").prefix(7))
            let vals = try r.valTop1s()
            s["\(m)_best_epoch"] = (vals.firstIndex(of: vals.max()!) ?? 0) + 1
            s["\(m)_first_epoch_top1"] = vals[0]
            s["\(m)_final_train_loss"] = r.epochs.last!.trainLoss
            s["\(m)_final_train_top1"] = r.epochs.last!.trainAccuracy
            let rates = r.epochs.map(\.trainImagesPerSecond)
            s["\(m)_median_epoch_img_per_s"] = median(rates)
            s["\(m)_slowest_epoch_img_per_s"] = rates.min()!
            s["\(m)_fastest_epoch_img_per_s"] = rates.max()!
        }
        let (f, l) = (full.summary, lora.summary)
        s["lora_minus_full_pp"] = 100 * (try lora.finalTop1() - full.finalTop1())
        s["lora_minus_zero_shot_pp"] = 100 * (try lora.finalTop1() - zeroShotTop1)
        s["zero_shot_minus_full_pp"] = 100 * (try zeroShotTop1 - full.finalTop1())
        s["model_params"] = f.totalParams
        s["lora_adapter_params"] = l.adapterParams
        s["lora_trainable_pct"] = 100 * (Double(l.trainableParams) / Double(f.totalParams))
        s["trainable_params_ratio"] = Double(f.trainableParams) / Double(l.trainableParams)
        // AdamW keeps two float32 moments per trainable parameter.
        s["full_adamw_state_mb"] = 8 * Double(f.trainableParams) / 1e6
        s["lora_adamw_state_mb"] = 8 * Double(l.trainableParams) / 1e6
    }

    /// The shared recipe (both runs use the same data, batch, schedule and seed).
    static func recipeNumbers(full: Run, into s: inout PaperNumbers) throws {
        let c = full.config
        s["train_batch"] = c.batchSize
        s["epoch_steps"] = Double(full.summary.steps) / Double(full.summary.epochs)
        s["weight_decay"] = c.weightDecay
        s["warmup_percent"] = 100 * c.warmup
        s["train_seed"] = Int(truncatingIfNeeded: c.seed)
        s["label_smoothing"] = c.labelSmoothing
        s["train_dataset"] = (c.data as NSString).lastPathComponent
        s["train_threads_count"] = c.threads
        s["loader_workers_count"] = c.loaderWorkers
        s["train_crop_min_scale"] = ImageTransform.scaleRange.0
        s["eval_resize_size"] = ImageTransform.resizeShorter
        s["allreduce_bucket_mib"] = Double(GradientSync.defaultBucketBytes) / Double(1 << 20)
    }

    /// LoRA's configuration, the machine, the architecture and LoRA's parameters per adapted
    /// layer: r·(in + out).
    static func loraNumbers(lora: Run, full: Run, classes: [String], into s: inout PaperNumbers) throws {
        let lc = lora.config
        let (rank, alpha, targets) = (lc.loraRank, lc.loraAlpha, lc.loraTargets)
        guard rank > 0, !targets.isEmpty else { throw TrainError.io("\(lora.path): config has no LoRA rank/targets") }
        s["lora_rank"] = rank
        s["lora_alpha"] = alpha
        s["lora_scale"] = alpha / Double(rank)
        s["lora_targets"] = targets.joined(separator: ", ")
        let m = full.summary.machine
        s["machine_cpu"] = m.cpu
        s["machine_cores"] = m.cores
        s["machine_memory_gib"] = m.memoryGiB
        let v = ViTConfig.vitTiny(numClasses: classes.count)
        s["vit_embed_dim"] = v.embedDim; s["vit_depth"] = v.depth; s["vit_heads"] = v.numHeads
        s["vit_mlp_dim"] = v.mlpHidden; s["vit_qkv_dim"] = 3 * v.embedDim; s["vit_patch_size"] = v.patchSize
        s["vit_img_size"] = v.imgSize; s["vit_tokens_count"] = v.tokens
        s["head_params"] = v.embedDim * classes.count + classes.count
        var perBlock = 0, densePerBlock = 0
        for layer in v.denseLayers {
            let t = layer.short
            s["lora_\(t)_params"] = layer.loraParameters(rank: rank)
            s["dense_\(t)_params"] = layer.denseParameters
            if targets.contains(t) { perBlock += layer.loraParameters(rank: rank); densePerBlock += layer.denseParameters }
        }
        s["lora_block_params"] = perBlock
        s["dense_block_params"] = densePerBlock
        guard perBlock * v.depth == lora.summary.adapterParams else {
            throw TrainError.io("\(lora.path): adapter_params \(lora.summary.adapterParams) ≠ \(v.depth) blocks × \(perBlock)")
        }
    }

    /// What would be stored per task: the full model vs the adapter (+ head).
    static func fileSizes(_ out: String, into s: inout PaperNumbers) throws {
        var bytes: [String: Int] = [:]
        let sizes = [("full_model_file_bytes", out + "/full_model/model.safetensors"),
                     ("lora_adapter_file_bytes", out + "/lora_model/adapter/adapter_model.safetensors")]
        for (k, p) in sizes {
            // The file's own size, not a symbolic link's (attributesOfItem does not follow links).
            let file = (p as NSString).resolvingSymlinksInPath
            guard let a = try? FileManager.default.attributesOfItem(atPath: file), let n = a[.size] as? NSNumber else {
                throw TrainError.io("\(p): missing (\(k.hasPrefix("full") ? stage["full_model"]! : stage["lora_model"]!))")
            }
            bytes[k] = n.intValue
            s[k] = n.intValue
            s[k.replacingOccurrences(of: "_bytes", with: "_mb")] = n.doubleValue / 1e6
        }
        s["file_size_ratio"] = Double(bytes["full_model_file_bytes"]!) / Double(bytes["lora_adapter_file_bytes"]!)
    }

    /// Training curves: per epoch, each run's val top-1, loss, train top-1 and speed.
    static func curvesCSV(full: Run, lora: Run) throws -> String {
        var curves = CSVTable(header: ["epoch"] + ["full", "lora"].flatMap { m in
            ["\(m)_val_top1", "\(m)_train_loss", "\(m)_train_top1", "\(m)_img_per_s"] })
        guard full.epochs.count == lora.epochs.count else {
            throw TrainError.io("\(full.path), \(lora.path): \(full.epochs.count) vs \(lora.epochs.count) epochs; rerun both to the same length")
        }
        let val = [try full.valTop1s(), try lora.valTop1s()]
        for e in 0..<full.epochs.count {
            var row = ["\(e + 1)"]
            for (k, r) in [full, lora].enumerated() {
                let o = r.epochs[e]
                row += [String(format: "%.6f", val[k][e]), String(format: "%.6f", o.trainLoss),
                        String(format: "%.6f", o.trainAccuracy), String(format: "%.3f", o.trainImagesPerSecond)]
            }
            curves.append(row)
        }
        return curves.text
    }

    /// Scaling: the measured ranks (scaling.csv).
    static func scalingNumbers(_ out: String, into s: inout PaperNumbers, write: (String, String) throws -> Void) throws {
        let scalingPath = out + "/scaling/scaling.csv"
        let scaling = try CSVTable.read(scalingPath, missing: stage["scaling"]!)
        try scaling.require(["ranks", "mode", "threads_per_rank", "batch", "img_per_s", "compute_s_per_step", "comm_s_per_step",
                             "bytes_per_step", "oversubscribed"])
        try write("scaling.csv", scaling.text)
        let words = [1: "one_rank", 2: "two_ranks", 4: "four_ranks"]
        var gradBytes: [String: Double] = [:]
        for m in ["full", "lora"] {
            guard let one = try scaling.rows(where: ["mode": m, "ranks": "1"]).first else {
                throw TrainError.io("\(scalingPath): no 1-rank \(m) row (\(stage["scaling"]!))")
            }
            let base = try scaling.double(one, "img_per_s")
            gradBytes[m] = try scaling.double(one, "bytes_per_step")
            s["\(m)_grad_bytes"] = gradBytes[m]
            s["\(m)_grad_mb"] = try scaling.double(one, "bytes_per_step") / 1e6
            for (n, w) in words.sorted(by: { $0.key < $1.key }) {
                guard let r = try scaling.rows(where: ["mode": m, "ranks": String(n)]).first else { continue }
                let comp = try scaling.double(r, "compute_s_per_step"), comm = try scaling.double(r, "comm_s_per_step")
                s["scaling_\(m)_\(w)_img_per_s"] = try scaling.double(r, "img_per_s")
                s["scaling_\(m)_\(w)_speedup"] = try scaling.double(r, "img_per_s") / base
                s["scaling_\(m)_\(w)_step_s"] = comp + comm
                s["scaling_\(m)_\(w)_comm_ms"] = 1000 * comm
                s["scaling_\(m)_\(w)_comm_pct"] = 100 * comm / (comp + comm)
            }
        }
        s["grad_bytes_ratio"] = gradBytes["full"]! / gradBytes["lora"]!
        s["scaling_batch"] = try scaling.double(0, "batch")
    }

    /// The many-node projection (projection.csv, one column per mode × scaling × bandwidth)
    /// from the 1-rank rows of `scalingCSV`, with the emulated links' latency and bandwidth
    /// efficiency when there is a `calibration`, else the nominal α and full bandwidth.
    static func projectionNumbers(scalingCSV: String, calibration: NetworkCalibration?, into s: inout PaperNumbers,
                                  write: (String, String) throws -> Void) throws {
        let rows = try ScalingRow.read(csv: scalingCSV)
        var base: [String: ScalingRow] = [:]
        for m in ["full", "lora"] {
            guard let one = rows.first(where: { $0.mode == m && $0.ranks == 1 }) else {
                throw TrainError.io("\(scalingCSV): no 1-rank \(m) row (\(stage["scaling"]!))")
            }
            base[m] = one
        }
        let p = calibration.map(ScalingProjection.init(calibration:)) ?? ScalingProjection()
        let proj = ScalingProjection.table(p.project(base))
        let nodes = Array(Set(try proj.rows.indices.map { Int(try proj.double($0, "nodes")) })).sorted()
        let gbits = Array(Set(try proj.rows.indices.map { Int(try proj.double($0, "gbit_per_s")) })).sorted()
        var cols: [(String, String, Int)] = []
        for m in ["full", "lora"] { for sc in ["weak", "strong"] { for g in gbits { cols.append((m, sc, g)) } } }
        var wide = CSVTable(header: ["nodes"] + cols.flatMap { m, sc, g in
            ["\(m)_\(sc)_\(g)g_img_per_s", "\(m)_\(sc)_\(g)g_eff", "\(m)_\(sc)_\(g)g_comm_ms"] })
        for n in nodes {
            var row = ["\(n)"]
            for (m, sc, g) in cols {
                guard let r = try proj.rows(where: ["mode": m, "scaling": sc, "nodes": String(n), "gbit_per_s": String(g)]).first else {
                    throw TrainError.io("the projection from \(scalingCSV) has no row for \(m) \(sc) \(n) nodes \(g) Gbit/s")
                }
                row += [String(format: "%.2f", try proj.double(r, "img_per_s")), String(format: "%.4f", try proj.double(r, "efficiency")),
                        String(format: "%.3f", 1000 * (try proj.double(r, "comm_s_per_step")))]
                if [64, nodes.last!].contains(n) {
                    let key = "proj_\(m)_\(sc)_\(n)_nodes_\(g)_gbit"
                    s[key + "_eff_pct"] = 100 * (try proj.double(r, "efficiency"))
                    s[key + "_img_per_s"] = try proj.double(r, "img_per_s")
                    s[key + "_comm_ms"] = 1000 * (try proj.double(r, "comm_s_per_step"))
                }
            }
            wide.append(row)
        }
        try write("projection.csv", wide.text)
        s["proj_alpha_us"] = (p.alpha * 1e7).rounded() / 10
        s["proj_bandwidth_eff_pct"] = 100 * p.bandwidthEfficiency
        s["proj_calibrated_available"] = calibration != nil
        s["proj_max_nodes"] = nodes.last!
        let batch: Double? = s["scaling_batch"]
        s["proj_strong_global_batch"] = Int(batch!) * 8
    }

    /// Attention: JS divergence and mask IoU per model pair (mean-of-heads maps).
    static func attentionNumbers(_ out: String, classes: Int, into s: inout PaperNumbers,
                                 write: (String, String) throws -> Void) throws {
        let v = ViTConfig.vitTiny(numClasses: classes)
        let changePath = out + "/attention/attention_change.csv"
        let change = try CSVTable.read(changePath, missing: stage["attention"]!)
        try change.require(["model_a", "model_b", "head", "class", "class_name", "images", "js_mean", "iou_mean"])
        try write("attention.csv", change.text)
        let statsPath = out + "/attention/attention_stats.csv"
        let stats = try CSVTable.read(statsPath, missing: stage["attention"]!)
        try stats.require(["model", "head", "class", "class_name", "images", "mask_patches_mean", "entropy_mean", "accuracy"])
        try write("attention_stats.csv", stats.text)
        for r in try change.rows(where: ["head": "mean", "class": "all"]) {
            guard let a = attentionShort[try change.string(r, "model_a")], let b = attentionShort[try change.string(r, "model_b")] else { continue }
            s["attn_\(a)_\(b)_js"] = try change.double(r, "js_mean")
            s["attn_\(a)_\(b)_iou"] = try change.double(r, "iou_mean")
            s["attn_images"] = try change.double(r, "images")
        }
        for r in try stats.rows(where: ["head": "mean", "class": "all"]) {
            guard let m = attentionShort[try stats.string(r, "model")] else { continue }
            s["attn_\(m)_mask_patches"] = try stats.double(r, "mask_patches_mean")
            s["attn_\(m)_entropy_nats"] = try stats.double(r, "entropy_mean")
        }
        for k in ["attn_pretrained_full_js", "attn_pretrained_lora_js", "attn_full_lora_js", "attn_pretrained_mask_patches"] where !s.has(k) {
            throw TrainError.io("\(changePath): no mean-head row for all classes behind '\(k)' (\(stage["attention"]!))")
        }
        s["attn_uniform_entropy_nats"] = Foundation.log(Double(v.numPatches))
        s["vit_patches_count"] = v.numPatches
        let txtPath = out + "/attention/attention_change.txt"
        let txt = (try? String(contentsOfFile: txtPath, encoding: .utf8)) ?? ""
        guard let range = txt.range(of: #"IoU of the [0-9]+%-mass"#, options: .regularExpression),
              let mass = Int(txt[range].dropFirst("IoU of the ".count).prefix { $0.isNumber }) else {
            throw TrainError.io("\(txtPath): no 'IoU of the N%-mass masks' header (\(stage["attention"]!))")
        }
        s["attn_mask_mass_percent"] = mass
    }

    /// Side of the attention figure's tiles in report/results (a tenth of a page wide).
    static let attentionTileSide = 160

    /// The attention figure: the first image of each class, its crop and each model's map as
    /// `attention/NN_<slug>.jpg`, and `attention_grid.csv` (one row per tile: class, model,
    /// prediction, right or wrong) for the paper and the HTML report to caption as text.
    static func attentionFigure(_ out: String, reportDir: String, write: (String, String) throws -> Void,
                                log: (String) -> Void) throws -> [String] {
        let grid = try AttentionGrid.read(dir: out + "/attention", missing: stage["attention"]!)
        try FileManager.default.createDirectory(atPath: reportDir + "/attention", withIntermediateDirectories: true)
        var table = CSVTable(header: ["row", "image", "class", "model", "label", "view", "file", "prediction", "correct"])
        var written: [String] = []
        for (row, im) in grid.firstPerClass().enumerated() {
            let source = URL(fileURLWithPath: im.source).pathComponents.suffix(2).joined(separator: "/")
            // Per model: its last-block attention, then its relevance for the true class when drawn.
            var tiles = [("image", "image", "image", im.crop, nil as AttentionGrid.Cell?)]
            for c in im.cells {
                let label = grid.models.first { $0.slug == c.model }?.label ?? c.model
                tiles.append((c.model, label, "cls", c.map, c))
                if let gt = c.views?["gt"] { tiles.append((c.model, label, "gt", gt, c)) }
            }
            for (slug, label, view, file, cell) in tiles {
                let name = String(format: "attention/%02d_%@.jpg", row, slug + (view == "gt" ? "_gt" : ""))
                try copyResized(out + "/attention/" + file, to: reportDir + "/" + name, side: attentionTileSide)
                written.append(reportDir + "/" + name)
                table.rows.append(["\(row)", source, im.className, slug, label, view, name, cell?.predictedName ?? "",
                                   cell?.correct.map { $0 ? "1" : "0" } ?? ""])
            }
        }
        try write("attention_grid.csv", table.text)
        log("attention figure: \(table.rows.count) tiles of \(attentionTileSide) px in \(reportDir)/attention/")
        return written
    }

    /// A JPEG tile resized to `side` × `side` (bicubic) and written again.
    static func copyResized(_ src: String, to dst: String, side: Int) throws {
        let image = try decodeJPEG(path: src)
        let small = resizeBicubic(image, width: side, height: side)
        try AtomicFile.write(try encodeJPEG(pixels: small.pixels, width: side, height: side, components: 3, quality: 88), to: dst)
    }

    /// Optional: the recipe/rank study and the PyTorch comparison, with their flags.
    static func optionalNumbers(_ out: String, reportDir: String, dropMissing: Bool, into s: inout PaperNumbers,
                                write: (String, String) throws -> Void, log: (String) -> Void) throws {
        let optional = optionalInputs(out)
        var present = Set<String>()
        for (src, dst, columns, flag) in optional {
            guard FileManager.default.fileExists(atPath: src) else {
                try? FileManager.default.removeItem(atPath: reportDir + "/" + dst)
                log("\(src): not present (optional); the paper marks it pending")
                continue
            }
            let t = try CSVTable.read(src)
            try t.require(columns)
            guard !t.rows.isEmpty else { log("\(src): no rows yet (optional)"); continue }
            try write(dst, t.text)
            present.insert(dst)
            if dst == "study_groups.csv" {
                try studyNumbers(t, into: &s)
                try finalNumbers(t, zeroShot: s["zero_shot_top1"]!, into: &s)
            }
            if flag == "ranks" { try rankNumbers(t, into: &s) }
            // Per class, the best final configurations' means (groups.csv comes first in this list).
            if dst == "study_per_class.csv" {
                for m in ["full", "lora"] {
                    guard let g: String = s["study_final_best_\(m)_group"] else { continue }
                    for r in try t.rows(where: ["group": g]) {
                        s["study_final_best_\(m)_\(slug(try t.string(r, "class")))_top1"] = try t.double(r, "mean_top1")
                    }
                }
            }
            if dst == "study_runs.csv" {
                s["study_runs_count"] = t.rows.count
                // LP-FT: the head's val top-1 after the linear probe (the best over LP runs).
                if let c = t.header.firstIndex(of: "lp_val_top1"), let best = t.rows.compactMap({ Double($0[c]) }).max() {
                    s["study_lp_probe_top1"] = best
                }
            }
            if flag == "bench" { try benchNumbers(t, into: &s) }
        }
        s["study_available"] = present.contains("study_runs.csv") && present.contains("study_groups.csv")
        s["bench_available"] = present.contains("bench.csv")
        s["study_ranks_available"] = s.flag("study_available") && present.contains("study_ranks.csv")
        // The recipe paragraph also quotes the linear probe's accuracy.
        s["study_recipes_available"] = s.flag("study_recipes_available") && s.has("study_lp_probe_top1")
        if !s.flag("study_available") {
            for f in ["study_runs.csv", "study_groups.csv", "study_ranks.csv", "study_per_class.csv"] {
                try refuseToDrop(reportDir + "/" + f, missing: out + "/study", unless: dropMissing)
                try? FileManager.default.removeItem(atPath: reportDir + "/" + f)
            }
        }
    }

    /// The optional inputs: (file under output/, its copy in report/results, required columns,
    /// section).
    static func optionalInputs(_ out: String) -> [(String, String, [String], String)] {
        [(out + "/study/runs.csv", "study_runs.csv", ["name", "mode", "head_init", "lp_epochs", "lora_rank", "lora_alpha",
                                                     "lora_targets", "epochs", "seed", "val_top1", "trainable_params"], "study"),
         (out + "/study/groups.csv", "study_groups.csv", ["group", "n", "mode", "head_init", "lp_epochs", "lora_rank", "lora_targets",
                                                         "epochs", "mean_top1", "std_top1", "min_top1", "max_top1", "trainable_params",
                                                         "grad_bytes_per_step", "mean_train_seconds"], "study"),
         (out + "/study/groups_per_class.csv", "study_per_class.csv", ["group", "n", "class", "mean_top1", "std_top1"], "study"),
         (out + "/study/ranks.csv", "study_ranks.csv", ["group", "lora_rank", "lora_alpha", "lora_targets", "n", "mean_top1",
                                                       "std_top1", "trainable_params", "grad_bytes_per_step", "bench_ms_per_step"], "ranks"),
         (out + "/bench/bench.csv", "bench.csv", benchColumns, "bench")]
    }

    /// Columns bench.csv must have (scripts/bench-vs-pytorch.sh).
    static let benchColumns = ["mode", "ours_img_per_s", "pytorch_img_per_s", "ratio"]

    /// Throws when `kept` exists and would be deleted because `missing` is absent: committed
    /// results (a 15-hour study) are never dropped by a run that simply lacks them.
    static func refuseToDrop(_ kept: String, missing: String, unless dropMissing: Bool) throws {
        guard !dropMissing, FileManager.default.fileExists(atPath: kept) else { return }
        throw TrainError.io("\(missing): missing, but \(kept) holds results of an earlier run; refusing to drop them "
                            + "(bring \(missing) back, write to another --report-dir, or pass --drop-missing)")
    }

    /// Per-image val predictions (path,label,pred) of each model: the zero-shot baseline's
    /// (required) and the fine-tuned models' from `woof-dist eval --predictions` (optional).
    static let heldOutModels = [("zero_shot", "baseline/predictions.csv"), ("full", "full_model/val_predictions.csv"),
                                ("lora", "lora_model/val_predictions.csv")]
    /// Subset 0: val images taken from ImageNet's train split; 1: from its val split.
    static let heldOutSubsets = ["imagenet_train", "imagenet_val"]

    /// Whether an ImageWoof image (a path) comes from ImageNet's val split: its file is named
    /// `ILSVRC2012_val_*`; the others come from ImageNet's train split.
    public static func isFromImageNetVal(_ path: String) -> Bool {
        (path as NSString).lastPathComponent.hasPrefix("ILSVRC2012_val_")
    }

    /// Images and correct predictions per subset of one predictions file.
    static func heldOutCounts(_ path: String, missing: String) throws -> (n: [Int], correct: [Int]) {
        let t = try CSVTable.read(path, missing: missing)
        try t.require(["path", "label", "pred"])
        let (pc, lc, rc) = (try t.column("path"), try t.column("label"), try t.column("pred"))
        var n = [0, 0], correct = [0, 0]
        for row in t.rows {
            let i = isFromImageNetVal(row[pc]) ? 1 : 0
            n[i] += 1
            if row[lc] == row[rc] { correct[i] += 1 }
        }
        guard n[0] + n[1] > 0 else { throw TrainError.io("\(path): no predictions") }
        return (n, correct)
    }

    /// ImageWoof's val images are ImageNet images: files named `ILSVRC2012_val_*` come from
    /// ImageNet's val split (unseen by the pretrained head), the others from its train split.
    /// Counts of each, and each model's accuracy on each (with a 95% Wilson interval), from the
    /// per-image predictions; the fine-tuned models' are optional (`heldout_available` says
    /// whether both are there). A fine-tuned model's predictions must reproduce its
    /// summary.json's final_val_top1, so stale files are caught. Returns heldout.csv.
    static func heldOutNumbers(outputDir out: String, expectedTop1 runs: [String: Run], into s: inout PaperNumbers,
                               log: (String) -> Void = { _ in }) throws -> String {
        var csv = CSVTable(header: ["model", "subset", "images", "correct", "top1"])
        var subsetSizes: [Int]? = nil, present: [String] = []
        for (m, file) in heldOutModels {
            let path = out + "/" + file
            if let r = runs[m] {
                guard FileManager.default.fileExists(atPath: path) else {
                    log("\(path): not present (optional; `woof-dist eval --weights \((r.path as NSString).deletingLastPathComponent)"
                        + "/model.safetensors --predictions \(path)` writes it); the paper marks it pending")
                    continue
                }
            }
            let dir = (file as NSString).deletingLastPathComponent
            let (n, correct) = try heldOutCounts(path, missing: stage[dir] ?? "run `make baseline`")
            let total = n[0] + n[1], right = correct[0] + correct[1]
            if let base = subsetSizes, base != n {
                throw TrainError.io("\(path): \(n[0]) + \(n[1]) images from ImageNet's train + val splits, but the baseline's "
                                    + "predictions have \(base[0]) + \(base[1]); evaluate both on the same val set")
            }
            if let r = runs[m] {
                let expected = try r.finalTop1()
                guard abs(Double(right) - expected * Double(total)) < 0.5 else {
                    throw TrainError.io("\(path): top-1 \(Double(right) / Double(total)) (\(right)/\(total)) ≠ final_val_top1 "
                                        + "\(expected) of \(r.path): stale predictions; rerun `woof-dist eval` on the current model")
                }
            }
            if subsetSizes == nil {
                subsetSizes = n
                s["val_from_imagenet_train_images"] = n[0]
                s["val_from_imagenet_val_images"] = n[1]
                s["val_from_imagenet_train_pct"] = 100 * Double(n[0]) / Double(total)
            }
            for (i, sub) in heldOutSubsets.enumerated() where n[i] > 0 {
                let p = Double(correct[i]) / Double(n[i])
                let (lo, hi) = ReportTeX.wilson(correct: correct[i], of: n[i])
                s["\(m)_on_\(sub)_top1"] = p
                s["\(m)_on_\(sub)_correct_images"] = correct[i]
                s["\(m)_on_\(sub)_wilson_low_top1"] = lo
                s["\(m)_on_\(sub)_wilson_high_top1"] = hi
                csv.append([m, sub, "\(n[i])", "\(correct[i])", String(format: "%.6f", p)])
            }
            if n[0] > 0 && n[1] > 0 {
                s["\(m)_imagenet_val_minus_train_pp"] = 100 * (Double(correct[1]) / Double(n[1]) - Double(correct[0]) / Double(n[0]))
            }
            present.append(m)
        }
        s["heldout_available"] = runs.keys.allSatisfy(present.contains)
        return csv.text
    }

    /// The groups of study/recipes.grid, whose findings the paper's recipe paragraph states
    /// (ReportTests checks this list against the grid).
    static let recipeGroups = ["lora-imagenet", "full-imagenet", "lora-imagenet-lr3e-4", "lora-random", "full-imagenet-lr3e-5",
                               "full-random", "full-imagenet-ld075", "lora-lpft", "full-lpft"]

    /// The groups of study/ranks.grid plus its r 8 / all-layers point (the recipe
    /// `lora-imagenet-lr3e-4`), whose findings the rank paragraph states (checked against the grid).
    static let rankGroups = ["lora-imagenet-lr3e-4-r1", "lora-imagenet-lr3e-4-r2", "lora-imagenet-lr3e-4-r4", "lora-imagenet-lr3e-4",
                             "lora-imagenet-lr3e-4-r16", "lora-imagenet-lr3e-4-r32", "lora-imagenet-lr3e-4-qkv",
                             "lora-imagenet-lr3e-4-qkvproj"]

    /// The groups of study/seeds.grid (seed suffixes dropped): the final configurations. The
    /// best recipes' 5-epoch runs are compared with their 2-epoch recipe points.
    static let finalGroups = ["plain-full", "plain-lora", "best-lora", "best-full"]

    /// Headline numbers of the recipe/rank study: the best group overall and per mode, and
    /// every group's mean top-1 (`study_group_<name>_top1`).
    static func studyNumbers(_ t: CSVTable, into s: inout PaperNumbers) throws {
        s["study_groups_count"] = t.rows.count
        var names = Set<String>()
        for r in t.rows.indices {
            let g = try t.string(r, "group")
            names.insert(g)
            s["study_group_\(slug(g))_top1"] = try t.double(r, "mean_top1")
            s["study_group_\(slug(g))_std_top1"] = try t.optionalDouble(r, "std_top1") ?? 0
        }
        s["study_recipes_available"] = Set(recipeGroups).isSubset(of: names)
        s["study_rank_grid_available"] = Set(rankGroups).isSubset(of: names)
        s["study_best_recipes_available"] = s.flag("study_recipes_available") && Set(finalGroups).isSubset(of: names)
        let maxSeeds = try t.rows.indices.map { Int(try t.double($0, "n")) }.max() ?? 0
        s["study_max_seeds_count"] = maxSeeds
        s["study_seeds_available"] = maxSeeds > 1
        s["study_lora_ranks"] = Array(Set(try t.rows(where: ["mode": "lora"]).map { Int(try t.double($0, "lora_rank")) }))
            .sorted().map(String.init).joined(separator: ", ")
        for (key, rows) in [("study_best", Array(t.rows.indices)), ("study_best_full", try t.rows(where: ["mode": "full"])),
                            ("study_best_lora", try t.rows(where: ["mode": "lora"]))] {
            guard let b = try rows.max(by: { try t.double($0, "mean_top1") < t.double($1, "mean_top1") }) else { continue }
            s[key + "_group"] = try t.string(b, "group")
            s[key + "_mean_top1"] = try t.double(b, "mean_top1")
            s[key + "_std_top1"] = try t.optionalDouble(b, "std_top1") ?? 0  // one run: no spread
            s[key + "_runs_count"] = Int(try t.double(b, "n"))
            if key == "study_best" { s["study_best_spread_available"] = Int(try t.double(b, "n")) > 1 }
            s[key + "_epochs"] = Int(try t.double(b, "epochs"))
            s[key + "_trainable_params"] = try t.double(b, "trainable_params")
        }
    }

    /// The final configurations are the groups trained for the most epochs (the full recipe
    /// length; sweep points are shorter). Their best overall, best full and best LoRA group,
    /// each as mean ± std over its seeds and against the zero-shot head.
    static func finalNumbers(_ t: CSVTable, zeroShot: Double, into s: inout PaperNumbers) throws {
        let (finals, epochs) = try ReportTeX.longestTrained(t)
        guard let longest = epochs.max() else { return }
        let seeds = try finals.map { Int(try t.double($0, "n")) }
        s["study_final_epochs"] = longest
        s["study_recipe_epochs"] = epochs.min()!  // the sweep points
        s["study_final_groups_count"] = finals.count
        s["study_final_min_seeds_count"] = seeds.min() ?? 0
        // "3 seeds" when every final group has the same count, else "3 or more seeds".
        s["study_final_seeds_vary_available"] = seeds.min() != seeds.max()
        // Mean ± std needs at least two seeds in every final group.
        s["study_final_available"] = (seeds.min() ?? 0) >= 2
        for (key, mode) in [("study_final_best", nil), ("study_final_best_full", "full"), ("study_final_best_lora", "lora")] as [(String, String?)] {
            let rows = try finals.filter { r in try mode.map { try t.string(r, "mode") == $0 } ?? true }
            guard let b = try rows.max(by: { try t.double($0, "mean_top1") < t.double($1, "mean_top1") }) else { continue }
            let mean = try t.double(b, "mean_top1")
            s[key + "_group"] = try t.string(b, "group")
            s[key + "_mean_top1"] = mean
            s[key + "_std_top1"] = try t.optionalDouble(b, "std_top1") ?? 0
            s[key + "_runs_count"] = Int(try t.double(b, "n"))
            s[key + "_over_zero_shot_pp"] = 100 * (mean - zeroShot)
            s[key + "_trainable_params"] = Int(try t.double(b, "trainable_params"))
            s[key + "_grad_mb"] = try t.double(b, "grad_bytes_per_step") / 1e6
            s[key + "_train_min"] = try t.double(b, "mean_train_seconds") / 60
        }
        // How far apart the best full and the best LoRA configuration are.
        if let full: Double = s["study_final_best_full_mean_top1"], let lora: Double = s["study_final_best_lora_mean_top1"] {
            s["study_final_best_gap_pp"] = 100 * abs(full - lora)
            s["study_final_best_gap_images"] = valImages(abs(full - lora), s)
        }
    }

    /// The LoRA rank sweep: its accuracy range and, from the bench, the step time of the
    /// smallest and largest all-layer rank.
    static func rankNumbers(_ t: CSVTable, into s: inout PaperNumbers) throws {
        s["study_ranks_count"] = t.rows.count
        let acc = try t.rows.indices.map { try t.double($0, "mean_top1") }
        guard let hi = acc.indices.max(by: { acc[$0] < acc[$1] }), let lo = acc.indices.min(by: { acc[$0] < acc[$1] }) else { return }
        s["study_ranks_best_group"] = try t.string(hi, "group")
        s["study_ranks_best_mean_top1"] = acc[hi]
        s["study_ranks_worst_group"] = try t.string(lo, "group")
        s["study_ranks_worst_mean_top1"] = acc[lo]
        s["study_ranks_spread_pp"] = 100 * (acc[hi] - acc[lo])
        s["study_ranks_spread_images"] = valImages(acc[hi] - acc[lo], s)
        let all = LoRAConfig.allTargetsKey
        let full = try t.rows(where: ["lora_targets": all]).sorted { try t.double($0, "lora_rank") < t.double($1, "lora_rank") }
        var timed = false
        if let a = full.first, let b = full.last, a != b {
            s["study_ranks_min_rank"] = Int(try t.double(a, "lora_rank"))
            s["study_ranks_max_rank"] = Int(try t.double(b, "lora_rank"))
            s["study_ranks_min_rank_trainable_params"] = Int(try t.double(a, "trainable_params"))
            s["study_ranks_max_rank_trainable_params"] = Int(try t.double(b, "trainable_params"))
            s["study_ranks_min_rank_mean_top1"] = try t.double(a, "mean_top1")
            let (msA, msB) = (try t.string(a, "bench_ms_per_step"), try t.string(b, "bench_ms_per_step"))
            if !msA.isEmpty && !msB.isEmpty {
                s["study_ranks_min_rank_step_s"] = try t.double(a, "bench_ms_per_step") / 1000
                s["study_ranks_max_rank_step_s"] = try t.double(b, "bench_ms_per_step") / 1000
                timed = true
            }
        }
        s["study_ranks_timed_available"] = timed
    }

    /// `results --bench-only`: replaces the speed benchmark of `reportDir` (bench.csv and the
    /// `bench_*` numbers) from `benchDir`'s bench.csv, keeping every other result.
    public static func collectBench(benchDir: String, reportDir: String) throws -> [String] {
        let summaryPath = reportDir + "/summary.json"
        var s = try JSONFile.read(PaperNumbers.self, from: summaryPath, missing: "run `make publish-results` first")
        let src = benchDir + "/bench.csv"
        guard FileManager.default.fileExists(atPath: src) else {
            throw TrainError.io("\(src): missing (scripts/bench-vs-pytorch.sh writes it)")
        }
        let t = try CSVTable.read(src)
        try t.require(benchColumns)
        guard !t.rows.isEmpty else { throw TrainError.io("\(src): no rows") }
        for k in Array(s.keys) where k.hasPrefix("bench_") { s.values[k] = nil }
        try benchNumbers(t, into: &s)
        s["bench_available"] = true
        try AtomicFile.write(Data(t.text.utf8), to: reportDir + "/bench.csv")
        try AtomicFile.write(try JSONFile.encoded(s), to: summaryPath)
        return [reportDir + "/bench.csv", summaryPath]
    }

    /// Our training throughput against PyTorch's on the same machine, per mode.
    static func benchNumbers(_ t: CSVTable, into s: inout PaperNumbers) throws {
        for r in t.rows.indices {
            let m = slug(try t.string(r, "mode"))
            s["bench_\(m)_ours_img_per_s"] = try t.double(r, "ours_img_per_s")
            s["bench_\(m)_pytorch_img_per_s"] = try t.double(r, "pytorch_img_per_s")
            s["bench_\(m)_ours_over_pytorch_speedup"] = try t.double(r, "ratio")
            for who in ["ours", "pytorch"] {
                s["bench_\(m)_\(who)_peak_rss_mib"] = try t.double(r, "\(who)_peak_rss_mib")
            }
            if t.header.contains("fraction_of_r") {
                s["bench_\(m)_of_roofline_percent"] = 100 * (try t.double(r, "fraction_of_r"))
                s["bench_\(m)_gflop_per_s"] = try t.double(r, "ours_gflop_per_s")
                s["bench_roofline_gflop_per_s"] = try t.double(r, "r_gflop_per_s")
            }
        }
        s["bench_roofline_available"] = t.header.contains("fraction_of_r")
        // Rounds of the invocation the medians are over (older bench.csv files: one run per mode).
        s["bench_rounds_count"] = t.header.contains("repeats") && !t.rows.isEmpty ? Int(try t.double(0, "repeats")) : 1
        // How much shorter a LoRA step is than a full one, in the same invocation.
        if let full: Double = s["bench_full_ours_img_per_s"], let lora: Double = s["bench_lora_ours_img_per_s"] {
            s["bench_lora_step_speedup"] = lora / full
        }
    }
}
