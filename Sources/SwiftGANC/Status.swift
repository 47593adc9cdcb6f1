import Glibc
import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// Status codes of swiftgan.h.
enum Status: Int32 {
    case ok = 0, value = 1, type = 2, io = 3, memory = 4, internalError = 5, cancelled = 6
}

/// The calling thread's last error message, kept in a pthread key as a malloc'd C string.
enum LastError {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { free($0) }
        return k
    }()

    static func set(_ message: String) {
        free(pthread_getspecific(key))
        pthread_setspecific(key, strdup(message))
    }

    static var message: UnsafePointer<CChar> {
        if let p = pthread_getspecific(key) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
        set("")
        return UnsafePointer(pthread_getspecific(key)!.assumingMemoryBound(to: CChar.self))
    }
}

/// Runs body, turning any thrown error into a status code and the thread's last error message.
func guarded(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return Status.ok.rawValue
    } catch let error as SwiftGANError {
        LastError.set(error.description)
        switch error {
        case .invalidArgument: return Status.value.rawValue
        case .invalidType: return Status.type.rawValue
        case .io: return Status.io.rawValue
        case .outOfMemory: return Status.memory.rawValue
        case .internalError: return Status.internalError.rawValue
        case .cancelled: return Status.cancelled.rawValue
        }
    } catch {
        LastError.set("\(error)")
        return Status.internalError.rawValue
    }
}

/// Throws a value error naming `argument` when `pointer` is NULL.
func nonNull<T>(_ pointer: T?, _ argument: String) throws -> T {
    guard let pointer else { throw SwiftGANError.invalidArgument("\(argument): expected a non-NULL pointer") }
    return pointer
}

/// A Swift string from a C string argument.
func string(_ p: UnsafePointer<CChar>?, _ argument: String) throws -> String {
    String(cString: try nonNull(p, argument))
}

@_cdecl("sg_last_error")
public func sg_last_error() -> UnsafePointer<CChar> { LastError.message }

@_cdecl("sg_set_num_threads")
public func sg_set_num_threads(_ n: Int32) -> Int32 { guarded { try Threads.set(Int(n)) } }

@_cdecl("sg_get_num_threads")
public func sg_get_num_threads() -> Int32 { Int32(Threads.count) }

@_cdecl("sg_set_cache_limit")
public func sg_set_cache_limit(_ bytes: Int64) -> Int32 {
    guarded {
        guard bytes >= 0 else { throw SwiftGANError.invalidArgument("nbytes: expected >= 0, got \(bytes)") }
        BufferCache.limitBytes = Int(bytes)
    }
}

@_cdecl("sg_get_cache_limit")
public func sg_get_cache_limit() -> Int64 { Int64(BufferCache.limitBytes) }

@_cdecl("sg_cached_bytes")
public func sg_cached_bytes() -> Int64 { Int64(BufferCache.bytes) }

@_cdecl("sg_empty_cache")
public func sg_empty_cache() { BufferCache.clear() }

@_cdecl("sg_set_grad_enabled")
public func sg_set_grad_enabled(_ enabled: Int32) -> Int32 {
    let previous = GradMode.isEnabled
    GradMode.isEnabled = enabled != 0
    return previous ? 1 : 0
}

/// Numeric attributes from parallel C arrays of names and values.
func readAttributes(
    _ n: Int32, _ names: UnsafePointer<UnsafePointer<CChar>?>?, _ values: UnsafePointer<Double>?
) throws -> [String: Double] {
    try require(n >= 0 && n <= 4096, "attrs: expected 0 to 4096 attributes, got \(n)")
    var attrs: [String: Double] = [:]
    if n > 0 {
        let names = try nonNull(names, "attr_names"), values = try nonNull(values, "attr_values")
        for i in 0..<Int(n) { attrs[try string(names[i], "attr_names[\(i)]")] = values[i] }
    }
    return attrs
}

/// Named tensors from parallel C arrays of names and handles; NULL handles (absent optional inputs) are skipped
/// where `allowNull`, refused otherwise.
func readNamedTensors(
    _ n: Int32, _ names: UnsafePointer<UnsafePointer<CChar>?>?, _ handles: UnsafePointer<OpaquePointer?>?,
    allowNull: Bool
) throws -> [String: Tensor] {
    try require(n >= 0 && n <= 4096, "inputs: expected 0 to 4096 inputs, got \(n)")
    var tensors: [String: Tensor] = [:]
    if n > 0 {
        let names = try nonNull(names, "input_names"), handles = try nonNull(handles, "inputs")
        for i in 0..<Int(n) {
            let key = try string(names[i], "input_names[\(i)]")
            if allowNull, handles[i] == nil { continue }
            tensors[key] = try Handle.tensor(handles[i], "inputs[\(i)]")
        }
    }
    return tensors
}
