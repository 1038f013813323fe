import Foundation

/// A dataset layout problem; `description` names the path and the problem.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
}

/// The ImageFolder layout `root/{train,val}/<wnid>/*.JPEG` (also .jpg/.jpeg, any case).
/// Classes are the sorted class folders of the *train* split, labels their indices;
/// samples are sorted by relative path (byte order).
public struct ImageFolder {
    /// One image: its path relative to the data root (e.g.
    /// `val/n02086240/ILSVRC2012_val_00002701.JPEG`) and its label.
    public struct Sample: Equatable {
        public let relativePath: String
        public let label: Int
    }

    public let root: String
    public let split: String
    public let classes: [String]
    public private(set) var samples: [Sample]

    public var count: Int { samples.count }

    /// File name extensions accepted as JPEG (compared lower-cased).
    public static let imageExtensions: Set<String> = ["jpeg", "jpg"]

    /// Scans `root/split`, checking it against `root/train`'s class list.
    public init(root: String, split: String) throws {
        self.root = root
        self.split = split
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else {
            throw DatasetError(path: root, problem: "data root does not exist (use --data DIR or set WOOF_DATA)")
        }
        guard isDir.boolValue else { throw DatasetError(path: root, problem: "data root is not a directory") }

        let trainClasses = try ImageFolder.classFolders(root: root, split: "train")
        let splitClasses = split == "train" ? trainClasses : try ImageFolder.classFolders(root: root, split: split)
        if splitClasses != trainClasses {
            let missing = trainClasses.filter { !splitClasses.contains($0) }
            let extra = splitClasses.filter { !trainClasses.contains($0) }
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("extra \(extra.joined(separator: ", "))") }
            throw DatasetError(path: ImageFolder.join(root, split),
                               problem: "class folders differ from train's (\(parts.joined(separator: "; ")))")
        }
        classes = trainClasses

        var samples: [Sample] = []
        for (label, cls) in classes.enumerated() {
            let dir = ImageFolder.join(ImageFolder.join(root, split), cls)
            let names: [String]
            do { names = try fm.contentsOfDirectory(atPath: dir) } catch {
                throw DatasetError(path: dir, problem: "cannot list class folder: \(error.localizedDescription)")
            }
            var found = 0
            for name in names where !name.hasPrefix(".") {
                let ext = (name as NSString).pathExtension.lowercased()
                guard ImageFolder.imageExtensions.contains(ext) else { continue }
                guard try ImageFolder.isRegularFile(ImageFolder.join(dir, name)) else { continue }
                samples.append(Sample(relativePath: "\(split)/\(cls)/\(name)", label: label))
                found += 1
            }
            if found == 0 {
                throw DatasetError(path: dir, problem: "class folder has no .JPEG/.jpg/.jpeg images")
            }
        }
        samples.sort { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
        self.samples = samples
    }

    /// Whether `path` (links followed) is a regular file: false for a directory or a
    /// dangling link; a FIFO, device or socket is refused by name, since reading it could
    /// block the loader forever.
    static func isRegularFile(_ path: String) throws -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR { return false }
        guard type == S_IFREG else {
            throw DatasetError(path: path, problem: "not a regular file (a FIFO, device or socket): remove it from the data")
        }
        return true
    }

    /// Sorted class folder names (non-hidden directories) of `root/split`.
    public static func classFolders(root: String, split: String) throws -> [String] {
        let fm = FileManager.default
        let dir = join(root, split)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError(path: dir, problem: "split folder '\(split)' is missing")
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: dir) } catch {
            throw DatasetError(path: dir, problem: "cannot list split folder: \(error.localizedDescription)")
        }
        let classes = names.filter { name in
            guard !name.hasPrefix(".") else { return false }
            var d: ObjCBool = false
            return fm.fileExists(atPath: join(dir, name), isDirectory: &d) && d.boolValue
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if classes.isEmpty { throw DatasetError(path: dir, problem: "split folder has no class folders") }
        return classes
    }

    /// Absolute (root-joined) path of sample `i`.
    public func path(of i: Int) -> String { ImageFolder.join(root, samples[i].relativePath) }

    /// The first `n` samples in sorted path order (`--limit N`).
    public func limited(to n: Int) -> ImageFolder {
        var copy = self
        if n < copy.samples.count { copy.samples = Array(copy.samples.prefix(max(n, 0))) }
        return copy
    }

    /// Splits off `perClass` images of every class, the ones whose relative paths hash lowest
    /// (FNV-1a): spread over each folder, the same on every machine and independent of the
    /// other classes. Returns (the rest, the held-out images), both in sorted path order.
    /// `train --hold-out N` trains on the rest; `soup --greedy` selects on the held-out ones.
    public func holdingOut(perClass n: Int) throws -> (kept: ImageFolder, heldOut: ImageFolder) {
        var chosen = Set<String>()
        for label in classes.indices {
            let members = samples.filter { $0.label == label }
            guard members.count > n else {
                throw DatasetError(path: ImageFolder.join(ImageFolder.join(root, split), classes[label]),
                                   problem: "has \(members.count) images, too few to hold out \(n) and still train")
            }
            let lowest = members.map(\.relativePath).sorted { (ImageFolder.fnv1a($0), $0) < (ImageFolder.fnv1a($1), $1) }.prefix(n)
            chosen.formUnion(lowest)
        }
        var kept = self, heldOut = self
        kept.samples = samples.filter { !chosen.contains($0.relativePath) }
        heldOut.samples = samples.filter { chosen.contains($0.relativePath) }
        return (kept, heldOut)
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// Keeps the samples whose index satisfies `keep` (e.g. a spread-out subset for tests).
    public func filtered(_ keep: (Int) -> Bool) -> ImageFolder {
        var copy = self
        copy.samples = samples.indices.filter(keep).map { samples[$0] }
        return copy
    }

    static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }
}

/// Where the data root came from.
public struct DataRoot: Equatable {
    public enum Source: String { case argument = "--data", environment = "WOOF_DATA", local = "data/imagewoof2-320", shared = "../shared" }
    public let path: String
    public let source: Source
}

/// Resolves the data root: explicit `--data DIR`, else `$WOOF_DATA`, else
/// `data/imagewoof2-320` if it exists, else `../shared/data/imagewoof2-256` (both relative
/// to `currentDirectory`).
public func resolveDataRoot(explicit: String?,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            currentDirectory: String = FileManager.default.currentDirectoryPath) -> DataRoot {
    if let e = explicit, !e.isEmpty { return DataRoot(path: e, source: .argument) }
    if let e = environment["WOOF_DATA"], !e.isEmpty { return DataRoot(path: e, source: .environment) }
    let local = ImageFolder.join(currentDirectory, "data/imagewoof2-320")
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: local, isDirectory: &isDir), isDir.boolValue {
        return DataRoot(path: local, source: .local)
    }
    return DataRoot(path: ImageFolder.join(currentDirectory, "../shared/data/imagewoof2-256"), source: .shared)
}
