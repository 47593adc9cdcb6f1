import Glibc
import SwiftGANCore

/// MPI_COMM_WORLD through Open MPI's C library, loaded with `dlopen` only when `MPICommunicator.initialize` is
/// called: nothing links against MPI, so a single process needs no MPI installed.
///
/// Open MPI's handles are addresses of exported globals (`ompi_mpi_comm_world`, `ompi_mpi_float`,
/// `ompi_mpi_op_sum`, ...) and `MPI_IN_PLACE` is `(void *)1`; both are resolved here with `dlsym`. Other MPI
/// implementations (MPICH's integer handles) are refused with a clear error.
public final class MPICommunicator: Communicator {
    typealias InitThreadFn =
        @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) ->
        Int32
    typealias FlagFn = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    typealias CommIntFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> Int32
    typealias AllreduceFn =
        @convention(c) (
            UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutableRawPointer?,
            UnsafeMutableRawPointer?, UnsafeMutableRawPointer?
        ) -> Int32
    typealias BcastFn =
        @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutableRawPointer?, Int32, UnsafeMutableRawPointer?) ->
        Int32
    typealias CommFn = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    typealias VoidFn = @convention(c) () -> Int32
    typealias AbortFn = @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32
    typealias ErrorStringFn =
        @convention(c) (Int32, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32

    /// MPI_THREAD_SERIALIZED: any thread may call MPI, one at a time (the caller of a training step, not the
    /// engine's worker threads).
    static let threadSerialized: Int32 = 2
    /// Largest count one MPI call takes (an `int`); longer buffers go in chunks.
    static let maxChunk = Int(Int32.max) / 8

    /// The process's communicator once `initialize` has succeeded.
    nonisolated(unsafe) public private(set) static var shared: MPICommunicator?

    public let rank: Int
    public let size: Int
    /// The library path that was loaded.
    public let library: String
    /// True when this process called MPI_Init_thread (and so calls MPI_Finalize); false when MPI was already
    /// initialized by someone else (mpi4py), who then finalizes it.
    public let ownsInitialization: Bool

    private let allreduceFn: AllreduceFn, bcastFn: BcastFn, barrierFn: CommFn, finalizeFn: VoidFn, finalizedFn: FlagFn
    private let abortFn: AbortFn
    private let errorStringFn: ErrorStringFn?
    private let world: UnsafeMutableRawPointer, floatType: UnsafeMutableRawPointer, doubleType: UnsafeMutableRawPointer
    private let byteType: UnsafeMutableRawPointer, sumOp: UnsafeMutableRawPointer

    /// Loads Open MPI and joins MPI_COMM_WORLD (MPI_Init_thread with MPI_THREAD_SERIALIZED), once per process;
    /// later calls return the same communicator. `library` names the shared library to load; nil tries
    /// `$SWIFTGAN_MPI_LIBRARY`, then `libmpi.so.40` and `libmpi.so`.
    public static func initialize(library: String? = nil) throws -> MPICommunicator {
        if let shared { return shared }
        var candidates = [String]()
        if let library {
            candidates.append(library)
        } else {
            if let env = getenv("SWIFTGAN_MPI_LIBRARY") { candidates.append(String(cString: env)) }
            candidates += ["libmpi.so.40", "libmpi.so"]
        }
        var errors = [String]()
        for name in candidates {
            // RTLD_GLOBAL: Open MPI's plugins, which it dlopens itself, resolve symbols of libmpi.
            if let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) {
                let communicator = try MPICommunicator(handle: handle, library: name)
                shared = communicator
                return communicator
            }
            errors.append(dlerror().map { String(cString: $0) } ?? name)
        }
        throw SwiftGANError.invalidArgument(
            "distributed: cannot load the MPI library (install Open MPI: apt-get install openmpi-bin "
                + "libopenmpi-dev; or set SWIFTGAN_MPI_LIBRARY): \(errors.joined(separator: "; "))")
    }

    private init(handle: UnsafeMutableRawPointer, library: String) throws {
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let p = dlsym(handle, name) else {
                throw SwiftGANError.invalidArgument(
                    "distributed: \(library) has no symbol '\(name)' (swiftgan needs Open MPI's library)")
            }
            return p
        }
        func function<F>(_ name: String, _ type: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: type) }
        self.library = library
        world = try symbol("ompi_mpi_comm_world")
        floatType = try symbol("ompi_mpi_float")
        doubleType = try symbol("ompi_mpi_double")
        byteType = try symbol("ompi_mpi_byte")
        sumOp = try symbol("ompi_mpi_op_sum")
        allreduceFn = try function("MPI_Allreduce", AllreduceFn.self)
        bcastFn = try function("MPI_Bcast", BcastFn.self)
        barrierFn = try function("MPI_Barrier", CommFn.self)
        finalizeFn = try function("MPI_Finalize", VoidFn.self)
        finalizedFn = try function("MPI_Finalized", FlagFn.self)
        abortFn = try function("MPI_Abort", AbortFn.self)
        errorStringFn = try? function("MPI_Error_string", ErrorStringFn.self)
        let initialized = try function("MPI_Initialized", FlagFn.self)
        var flag: Int32 = 0
        _ = initialized(&flag)
        ownsInitialization = flag == 0
        if ownsInitialization {
            var provided: Int32 = 0
            let status = try function("MPI_Init_thread", InitThreadFn.self)(
                nil, nil, MPICommunicator.threadSerialized, &provided)
            guard status == 0 else {
                throw SwiftGANError.invalidArgument("distributed: MPI_Init_thread failed with code \(status)")
            }
        }
        var value: Int32 = 0
        try MPICommunicator.check(
            try function("MPI_Comm_rank", CommIntFn.self)(world, &value), "MPI_Comm_rank", errorStringFn)
        rank = Int(value)
        try MPICommunicator.check(
            try function("MPI_Comm_size", CommIntFn.self)(world, &value), "MPI_Comm_size", errorStringFn)
        size = Int(value)
    }

    private static func check(_ status: Int32, _ call: String, _ errorString: ErrorStringFn?) throws {
        guard status != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        if let errorString { _ = errorString(status, &text, &length) }
        let message = String(
            decoding: text.prefix(Int(Swift.max(0, Swift.min(length, 511)))).map { UInt8(bitPattern: $0) },
            as: UTF8.self)
        throw SwiftGANError.invalidArgument("distributed: \(call) failed with code \(status): \(message)")
    }

    private func check(_ status: Int32, _ call: String) throws {
        try MPICommunicator.check(status, call, errorStringFn)
    }

    private func allreduce(
        _ buffer: UnsafeMutableRawPointer, count: Int, elementSize: Int, type: UnsafeMutableRawPointer
    ) throws {
        var done = 0
        while done < count {
            let n = Swift.min(count - done, MPICommunicator.maxChunk)
            try check(
                allreduceFn(UnsafeRawPointer(bitPattern: 1), buffer + done * elementSize, Int32(n), type, sumOp, world),
                "MPI_Allreduce")
            done += n
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try allreduce(UnsafeMutableRawPointer(buffer), count: count, elementSize: 4, type: floatType)
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws {
        try allreduce(UnsafeMutableRawPointer(buffer), count: count, elementSize: 8, type: doubleType)
    }

    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int) throws {
        try require(root >= 0 && root < size, "broadcast: root \(root) is not a rank of a world of \(size)")
        var done = 0
        while done < bytes {
            let n = Swift.min(bytes - done, MPICommunicator.maxChunk)
            try check(bcastFn(buffer + done, Int32(n), byteType, Int32(root), world), "MPI_Bcast")
            done += n
        }
    }

    public func barrier() throws { try check(barrierFn(world), "MPI_Barrier") }

    /// MPI_Abort: ends every rank of the job with exit code `code` (what a rank that fails alone must do, since
    /// the others would wait for it in their next collective forever).
    public func abort(code: Int32) { _ = abortFn(world, code) }

    /// MPI_Finalize, if this process initialized MPI and it is not finalized yet. No collective may follow.
    public func finalize() throws {
        var flag: Int32 = 0
        _ = finalizedFn(&flag)
        guard ownsInitialization, flag == 0 else { return }
        try check(finalizeFn(), "MPI_Finalize")
    }
}
