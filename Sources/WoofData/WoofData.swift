// WoofData: the ImageWoof input pipeline.
//
// - JPEG.swift: libjpeg-turbo decode (Pillow's settings) to `RGBImage`.
// - Resample.swift: Pillow-exact antialiased bicubic resize.
// - Transforms.swift: timm's eval transform and the RandomResizedCrop + flip train transform.
// - Random.swift: per-epoch permutations and shards (the generator is WoofCore's SplitMix64).
// - ImageFolder.swift: the `root/{train,val}/<wnid>/*.JPEG` dataset and the data-root resolver.
// - BatchLoader.swift: background decode + transform into reusable batch buffers.
// - Benchmark.swift: decode + train-transform throughput.
