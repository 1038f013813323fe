import Foundation
import WoofData
import WoofIO
import WoofTrain

/// What `WeightSpaceStudy.run` found, for its tables.
struct WeightSpaceFindings {
    struct SweepPoint { var run: String, alpha: Double, val: WeightSpaceStudy.Score, select: WeightSpaceStudy.Score? }
    struct Soup { var name: String, kind: String, members: [String], val: WeightSpaceStudy.Score, select: WeightSpaceStudy.Score? }
    var points: [SweepPoint] = []
    var soups: [Soup] = []
    var greedySteps: [WeightSpace.GreedyStep] = []
    /// Flip test-time augmentation of the zero-shot model and of each soup, beside its plain val score.
    struct Flip { var name: String, members: [String], val: WeightSpaceStudy.Score, flipped: WeightSpaceStudy.Score }
    var flips: [Flip] = []
}

extension WeightSpaceStudy {
    /// Runs (or resumes) the whole study and writes its tables into `dir`.
    public func run(log: (String) -> Void) throws {
        let runs = try finishedRuns()
        let zero = try WeightSpace.load("zero-shot", weights: weights)
        let val = try split("val")
        let selection = selectionSplit(runs, log: log)
        log("weight-space study: \(runs.count) runs, α \(alphas.map { String($0) }.joined(separator: ",")), val \(val.count) images" +
            (selection.map { ", selection \($0.count) held-out training images" } ?? ""))
        var found = WeightSpaceFindings()
        for run in runs {
            for alpha in alphas {
                let key = sweepKey(run, alpha, zero: zero)
                let tensors = { try WeightSpace.interpolate(from: zero, to: run.model, alpha: alpha) }
                let sel = try selection.map { try score(key.name, inputs: key.inputs, on: $0, split: "train-holdout", tensors: tensors, log: log) }
                let v = try score(key.name, inputs: key.inputs, on: val, split: "val", tensors: tensors, log: log)
                found.points.append(.init(run: run.name, alpha: alpha, val: v, select: sel))
            }
        }
        try soups(runs, val: val, selection: selection, into: &found, log: log)
        try flipScores(runs, zero: zero, val: val, into: &found, log: log)
        try writeTables(runs, found)
    }

    /// The model θ(α) is: α = 0 the zero-shot model (shared by every run), α = 1 the run.
    func sweepKey(_ run: Run, _ alpha: Double, zero: WeightSpace.Model) -> (name: String, inputs: [String]) {
        if alpha == 0 { return ("zero-shot", [zero.start]) }
        if alpha == 1 { return ("run \(run.name)", [run.fingerprint]) }
        return ("wise \(run.name) α \(alpha)", [zero.start, run.fingerprint])
    }

    /// The held-out training images, when every run held out the same ones; otherwise nil
    /// (then no α is chosen and there is no greedy soup), saying why.
    func selectionSplit(_ runs: [Run], log: (String) -> Void) -> ImageFolder? {
        do {
            let set = try WeightSpace.selectionSplit(runs: runs.map { dir + "/runs/" + $0.name }, dataRoot: dataRoot)
            return limit.map { set.limited(to: $0) } ?? set
        } catch {
            log("weight-space study: no selection split, so no chosen α and no greedy soup: \(error)")
            return nil
        }
    }

    /// Uniform soups of each recipe's seeds and of all runs, and the greedy soup.
    func soups(_ runs: [Run], val: ImageFolder, selection: ImageFolder?, into found: inout WeightSpaceFindings,
               log: (String) -> Void) throws {
        var sets: [(name: String, kind: String, members: [Run])] = []
        for (group, members) in Dictionary(grouping: runs, by: \.group).sorted(by: { $0.key < $1.key }) where members.count > 1 {
            sets.append(("seed soup \(group)", "uniform, seeds", members))
        }
        if runs.count > 1, Set(runs.map(\.group)).count > 1 { sets.append(("soup of all runs", "uniform, all", runs)) }
        if let selection, runs.count > 1 {
            let (soup, steps) = try greedySoup(runs, selection: selection, log: log)
            found.greedySteps = steps
            sets.append(("greedy soup", "greedy, on \(selection.count) held-out training images", soup))
        }
        for s in sets {
            let inputs = s.members.map(\.fingerprint)
            let tensors = { try WeightSpace.average(s.members.map(\.model)) }
            let sel = try selection.map { try score(s.name, inputs: inputs, on: $0, split: "train-holdout", tensors: tensors, log: log) }
            let v = try score(s.name, inputs: inputs, on: val, split: "val", tensors: tensors, log: log)
            found.soups.append(.init(name: s.name, kind: s.kind, members: s.members.map(\.name), val: v, select: sel))
        }
    }

    /// The greedy soup over all runs, its candidates scored (and cached) on `selection`.
    func greedySoup(_ runs: [Run], selection: ImageFolder, log: (String) -> Void) throws -> ([Run], [WeightSpace.GreedyStep]) {
        let byModel = Dictionary(uniqueKeysWithValues: runs.map { ($0.model.name, $0) })
        let (soup, steps) = try WeightSpace.greedySoup(runs.map(\.model), score: { models in
            let members = models.map { byModel[$0.name]! }
            let name = members.count == 1 ? "run \(members[0].name)" : "soup " + members.map(\.name).joined(separator: "+")
            return try self.score(name, inputs: members.map(\.fingerprint), on: selection, split: "train-holdout",
                                  tensors: { try WeightSpace.average(models) }, log: log).top1
        }, log: log)
        return (soup.map { byModel[$0.name]! }, steps)
    }
}

extension WeightSpaceStudy {
    /// Flip TTA on val for the zero-shot model and every soup: scored when `flipTTA`, else
    /// taken from the cache when there (so a later study without the flag keeps the table).
    func flipScores(_ runs: [Run], zero: WeightSpace.Model, val: ImageFolder, into found: inout WeightSpaceFindings,
                    log: (String) -> Void) throws {
        let byName = Dictionary(uniqueKeysWithValues: runs.map { ($0.name, $0) })
        var models: [(name: String, inputs: [String], members: [Run], plain: Score)] = []
        if let z = found.points.first(where: { $0.alpha == 0 }) { models.append(("zero-shot", [zero.start], [], z.val)) }
        for s in found.soups {
            let members = s.members.map { byName[$0]! }
            models.append((s.name, members.map(\.fingerprint), members, s.val))
        }
        let split = "val" + Self.flipSuffix
        for m in models {
            let tensors = { m.members.isEmpty ? zero.tensors : try WeightSpace.average(m.members.map(\.model)) }
            let flipped = flipTTA ? try score(m.name, inputs: m.inputs, on: val, split: split, tensors: tensors, log: log)
                : cached(m.name, inputs: m.inputs, on: val, split: split)
            if let flipped { found.flips.append(.init(name: m.name, members: m.members.map(\.name), val: m.plain, flipped: flipped)) }
        }
    }
}
