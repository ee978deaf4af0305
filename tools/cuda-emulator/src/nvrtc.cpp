// NVRTC on the CPU: a program's CUDA C source, with include/cudaemu_device.h forced in front and a launch
// trampoline per `extern "C" __global__` kernel appended, is compiled by clang++ (`$CUDAEMU_CXX`, default clang++)
// into a shared library, cached by a hash of everything that goes into it under `$CUDAEMU_CACHE` (default
// `$TMPDIR/cudaemu-<uid>`). The "CUBIN" handed back is `CUDAEMU\n<path>\n`, which the emulated cuModuleLoadData
// opens. Compiler errors come back as NVRTC_ERROR_COMPILATION with clang's messages as the program log.
#include "emulator.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#ifndef CUDAEMU_HEADER
#error "build with -DCUDAEMU_HEADER=\"/path/to/cudaemu_device.h\" (build.sh does)"
#endif

extern char** environ;

using namespace cudaemu;

namespace {

enum NVRTCResult : int {
    kNVRTCSuccess = 0,
    kNVRTCInvalidInput = 3,
    kNVRTCInvalidProgram = 4,
    kNVRTCCompilation = 6,
    kNVRTCInternal = 11,
};

struct Program {
    std::string source, name, log;
    std::vector<char> image;
};

const char* header_path() {
    const char* value = getenv("CUDAEMU_HEADER");
    return value && *value ? value : CUDAEMU_HEADER;
}

std::string read_file(const std::string& path) {
    std::ifstream stream(path, std::ios::binary);
    std::ostringstream text;
    text << stream.rdbuf();
    return text.str();
}

uint64_t fnv1a(const std::string& text, uint64_t hash = 0xcbf29ce484222325ull) {
    for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
    return hash;
}

std::string cache_folder() {
    if (const char* value = getenv("CUDAEMU_CACHE"); value && *value) return value;
    const char* temporary = getenv("TMPDIR");
    return std::string(temporary && *temporary ? temporary : "/tmp") + "/cudaemu-" + std::to_string(getuid());
}

/// Runs `arguments` with stderr (and stdout) into `log_path`; returns the exit status (-1 when it did not start).
int run(const std::vector<std::string>& arguments, const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 2, 1);
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    pid_t pid;
    int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

extern "C" {

int nvrtcVersion(int* major, int* minor) {
    *major = 13;
    *minor = 0;
    return kNVRTCSuccess;
}

const char* nvrtcGetErrorString(int result) {
    switch (result) {
        case kNVRTCSuccess: return "NVRTC_SUCCESS";
        case kNVRTCInvalidInput: return "NVRTC_ERROR_INVALID_INPUT";
        case kNVRTCInvalidProgram: return "NVRTC_ERROR_INVALID_PROGRAM";
        case kNVRTCCompilation: return "NVRTC_ERROR_COMPILATION";
        default: return "NVRTC_ERROR_INTERNAL_ERROR";
    }
}

int nvrtcCreateProgram(void** program, const char* source, const char* name, int header_count, const char* const*,
                       const char* const*) {
    if (!program || !source) return kNVRTCInvalidInput;
    if (header_count != 0) {
        report("nvrtcCreateProgram: in-memory headers are not emulated");
        return kNVRTCInvalidInput;
    }
    *program = new Program{source, name ? name : "default_program", "", {}};
    return kNVRTCSuccess;
}

int nvrtcDestroyProgram(void** program) {
    if (!program || !*program) return kNVRTCInvalidProgram;
    delete (Program*)*program;
    *program = nullptr;
    return kNVRTCSuccess;
}

int nvrtcCompileProgram(void* handle, int, const char* const*) {
    auto* program = (Program*)handle;
    if (!program) return kNVRTCInvalidProgram;
    // Each `extern "C" __global__ [__launch_bounds__(…)] void name(` gets a trampoline taking cuLaunchKernel's kernelParams, and a function
    // giving its parameters' sizes (for launches captured into a graph).
    std::string text = program->source + "\n";
    static const std::regex kernel(
        R"(extern\s+"C"\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+([A-Za-z_][A-Za-z0-9_]*)\s*\()");
    for (auto match = std::sregex_iterator(program->source.begin(), program->source.end(), kernel);
         match != std::sregex_iterator(); ++match) {
        const std::string name = (*match)[1];
        text += "extern \"C\" __attribute__((visibility(\"default\"))) void cudaemu_launch_" + name +
                "(void** params) { cudaemu_invoke(&" + name + ", params); }\n";
        text += "extern \"C\" __attribute__((visibility(\"default\"))) int cudaemu_parameters_" + name +
                "(size_t* sizes) { return cudaemu_parameter_sizes(&" + name + ", sizes); }\n";
    }
    const char* compiler = getenv("CUDAEMU_CXX");
    std::vector<std::string> arguments = {compiler && *compiler ? compiler : "clang++", "-std=c++17", "-O2", "-fPIC",
                                          "-shared", "-ffp-contract=off", "-fno-math-errno", "-w", "-include",
                                          header_path()};
    std::string key = text + read_file(header_path());
    for (auto& argument : arguments) key += "\n" + argument;
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a(key));
    const std::string folder = cache_folder();
    mkdir(folder.c_str(), 0700);
    std::string stem = program->name;
    for (char& c : stem)
        if (!isalnum((unsigned char)c) && c != '_' && c != '.') c = '_';
    const std::string library = folder + "/" + stem + "-" + hash + ".so";
    if (access(library.c_str(), R_OK) != 0) {
        const std::string unique = library + "." + std::to_string(getpid());
        const std::string source_path = unique + ".cpp", log_path = unique + ".log", temporary = unique + ".tmp";
        std::ofstream(source_path, std::ios::binary) << text;
        arguments.insert(arguments.end(), {"-o", temporary, source_path});
        int status = run(arguments, log_path);
        program->log = read_file(log_path);
        unlink(log_path.c_str());
        unlink(source_path.c_str());
        if (status != 0) {
            unlink(temporary.c_str());
            if (status == -1) program->log = "cudaemu: could not start " + arguments[0] + " (set CUDAEMU_CXX)\n";
            return kNVRTCCompilation;
        }
        if (rename(temporary.c_str(), library.c_str()) != 0) return kNVRTCInternal;
    }
    const std::string image = "CUDAEMU\n" + library + "\n";
    program->image.assign(image.begin(), image.end());
    program->image.push_back('\0');
    return kNVRTCSuccess;
}

int nvrtcGetProgramLogSize(void* handle, size_t* size) {
    *size = ((Program*)handle)->log.size() + 1;
    return kNVRTCSuccess;
}

int nvrtcGetProgramLog(void* handle, char* log) {
    auto& text = ((Program*)handle)->log;
    memcpy(log, text.c_str(), text.size() + 1);
    return kNVRTCSuccess;
}

int nvrtcGetCUBINSize(void* handle, size_t* size) {
    *size = ((Program*)handle)->image.size();
    return *size ? kNVRTCSuccess : kNVRTCInvalidProgram;
}

int nvrtcGetCUBIN(void* handle, char* image) {
    auto& bytes = ((Program*)handle)->image;
    memcpy(image, bytes.data(), bytes.size());
    return kNVRTCSuccess;
}

int nvrtcGetPTXSize(void* handle, size_t* size) { return nvrtcGetCUBINSize(handle, size); }

int nvrtcGetPTX(void* handle, char* image) { return nvrtcGetCUBIN(handle, image); }

}  // extern "C"
