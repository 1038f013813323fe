import Foundation
import WoofIO

/// The weight-space study's CSVs (`WeightSpaceStudy.run`), read by `results` and the paper.
extension WeightSpaceStudy {
    public static let tableFiles = ["alpha_sweep.csv", "alpha_groups.csv", "wise_chosen.csv", "soups.csv", "greedy_steps.csv", "flip_tta.csv"]

    func writeTables(_ runs: [Run], _ found: WeightSpaceFindings) throws {
        let tables = [Self.sweepTable(runs, found), Self.groupTable(runs, found), Self.chosenTable(runs, found),
                      Self.soupTable(found), Self.greedyTable(found), Self.flipTable(found)]
        for (file, table) in zip(Self.tableFiles, tables) { try table.write(to: dir + "/" + file) }
    }

    static func f(_ v: Double?, _ digits: Int = 6) -> String { v.map { $0.isFinite ? String(format: "%.\(digits)f", $0) : "" } ?? "" }

    static func sweepTable(_ runs: [Run], _ found: WeightSpaceFindings) -> CSVTable {
        var t = CSVTable(header: ["run", "group", "mode", "seed", "alpha", "val_images", "val_top1", "val_heldout_images",
                                  "val_heldout_top1", "select_images", "select_top1"])
        let byName = Dictionary(uniqueKeysWithValues: runs.map { ($0.name, $0) })
        for p in found.points {
            let r = byName[p.run]!
            t.append([r.name, r.group, r.mode, "\(r.seed)", "\(p.alpha)", "\(p.val.images)", f(p.val.top1), "\(p.val.heldOutImages)",
                      f(p.val.heldOutTop1), p.select.map { "\($0.images)" } ?? "", f(p.select?.top1)])
        }
        return t
    }

    /// Mean and sample std over each recipe's seeds at every α.
    static func groupTable(_ runs: [Run], _ found: WeightSpaceFindings) -> CSVTable {
        var t = CSVTable(header: ["group", "mode", "alpha", "n", "val_top1_mean", "val_top1_std", "val_heldout_top1_mean",
                                  "val_heldout_top1_std", "select_top1_mean"])
        struct Key: Hashable { var group: String, alpha: Double }
        let runOf = Dictionary(uniqueKeysWithValues: runs.map { ($0.name, $0) })
        let byKey = Dictionary(grouping: found.points) { Key(group: runOf[$0.run]!.group, alpha: $0.alpha) }
        for key in byKey.keys.sorted(by: { ($0.group, $0.alpha) < ($1.group, $1.alpha) }) {
            let pts = byKey[key]!
            let v = Study.meanStd(pts.map(\.val.top1)), h = Study.meanStd(pts.compactMap(\.val.heldOutTop1))
            let sel = pts.compactMap(\.select?.top1)
            t.append([key.group, runOf[pts[0].run]!.mode, "\(key.alpha)", "\(pts.count)", f(v.mean), f(v.std), f(h.mean), f(h.std),
                      sel.isEmpty ? "" : f(Study.meanStd(sel).mean)])
        }
        return t
    }

    /// Each run's α chosen on the held-out training images (ties: the α nearest 0.5, then the
    /// smaller), beside the run itself (α = 1): the figures that may be reported on val.
    static func chosenTable(_ runs: [Run], _ found: WeightSpaceFindings) -> CSVTable {
        var t = CSVTable(header: ["run", "group", "mode", "seed", "alpha", "select_top1", "val_top1", "val_heldout_top1",
                                  "run_val_top1", "run_val_heldout_top1"])
        for r in runs {
            let pts = found.points.filter { $0.run == r.name }
            guard let chosen = chosenPoint(pts), let own = pts.first(where: { $0.alpha == 1 }) else { continue }
            t.append([r.name, r.group, r.mode, "\(r.seed)", "\(chosen.alpha)", f(chosen.select?.top1), f(chosen.val.top1),
                      f(chosen.val.heldOutTop1), f(own.val.top1), f(own.val.heldOutTop1)])
        }
        return t
    }

    static func chosenPoint(_ pts: [WeightSpaceFindings.SweepPoint]) -> WeightSpaceFindings.SweepPoint? {
        pts.filter { $0.select != nil }.min { a, b in
            (-a.select!.top1, abs(a.alpha - 0.5), a.alpha) < (-b.select!.top1, abs(b.alpha - 0.5), b.alpha)
        }
    }

    static func soupTable(_ found: WeightSpaceFindings) -> CSVTable {
        var t = CSVTable(header: ["soup", "kind", "n", "members", "select_top1", "val_top1", "val_heldout_top1"])
        for s in found.soups {
            t.append([s.name, s.kind, "\(s.members.count)", s.members.joined(separator: " "), f(s.select?.top1), f(s.val.top1),
                      f(s.val.heldOutTop1)])
        }
        return t
    }

    static func greedyTable(_ found: WeightSpaceFindings) -> CSVTable {
        var t = CSVTable(header: ["step", "model", "select_top1", "kept"])
        for (i, s) in found.greedySteps.enumerated() {
            t.append(["\(i + 1)", (s.model as NSString).lastPathComponent, f(s.heldInTop1), s.kept ? "yes" : "no"])
        }
        return t
    }

    /// Flip TTA beside the plain score (rows only for what was scored with `--flip-tta`).
    static func flipTable(_ found: WeightSpaceFindings) -> CSVTable {
        var t = CSVTable(header: ["model", "n", "members", "val_top1", "val_heldout_top1", "flip_val_top1", "flip_val_heldout_top1"])
        for m in found.flips {
            t.append([m.name, "\(m.members.count)", m.members.joined(separator: " "), f(m.val.top1), f(m.val.heldOutTop1),
                      f(m.flipped.top1), f(m.flipped.heldOutTop1)])
        }
        return t
    }
}
