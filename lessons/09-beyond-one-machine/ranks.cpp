// The job's tools: the polite wait, sub-communicators, each rank's timeline, and where
// a rank runs (host, network namespace, the transport Open MPI picks between two ranks).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include <mpi.h>
#include <boost/mpi/collectives.hpp>

#include "parts.hpp"

namespace lesson09 {

using namespace std::chrono_literals;

void polite_barrier(const bmpi::communicator& comm) {
    MPI_Request request;
    MPI_Ibarrier(comm, &request);
    for (int done = 0;;) {
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);   // also moves Open MPI's progress engine
        if (done) return;
        std::this_thread::sleep_for(1ms);
    }
}

bmpi::communicator first_ranks(const bmpi::communicator& world, int k) {
    return world.split(world.rank() < k ? 0 : MPI_UNDEFINED);
}

void Timeline::add(char phase, std::string name, Clock::time_point start, Clock::time_point end,
                   const std::string& lane) {
    auto since = [&](Clock::time_point t) { return std::chrono::duration<double>(t - origin_).count(); };
    events_.push_back({rank_, lane, std::move(name), phase, since(start), since(end)});
}

// The value the job really runs with, whether it came from the command line (--mca btl
// tcp,self), the environment or a configuration file: read through the MPI tool
// interface (MPI_T). Strings as they are, booleans and integers as digits.
std::string open_mpi_setting(const char* name) {
    int provided = 0;
    if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return "";
    std::string value;
    int index = 0;
    if (MPI_T_cvar_get_index(name, &index) == MPI_SUCCESS) {
        char var_name[256], description[1024];
        int name_len = sizeof var_name, description_len = sizeof description, verbosity = 0, bind = 0, scope = 0;
        MPI_Datatype type;
        MPI_T_enum enumtype;
        MPI_T_cvar_get_info(index, var_name, &name_len, &verbosity, &type, &enumtype, description, &description_len,
                            &bind, &scope);
        MPI_T_cvar_handle handle;
        int count = 0;
        if (MPI_T_cvar_handle_alloc(index, nullptr, &handle, &count) == MPI_SUCCESS) {
            std::vector<char> data(std::size_t(std::max(count, 1)) * 8 + 1, '\0');
            if (MPI_T_cvar_read(handle, data.data()) == MPI_SUCCESS) {
                if (type == MPI_CHAR) value = data.data();
                else if (type == MPI_C_BOOL) value = *reinterpret_cast<const bool*>(data.data()) ? "1" : "0";
                else if (type == MPI_INT) value = std::to_string(*reinterpret_cast<const int*>(data.data()));
            }
            MPI_T_cvar_handle_free(&handle);
        }
    }
    MPI_T_finalize();
    return value;
}

namespace {

// Open MPI's component lists: "" (all), "a,b" (only these), "^a,b" (all but these).
bool allows(const std::string& list, const std::string& component) {
    if (list.empty()) return true;
    bool exclude = list[0] == '^';
    std::stringstream items(exclude ? list.substr(1) : list);
    for (std::string item; std::getline(items, item, ',');)
        if (item == component) return !exclude;
    return exclude;
}

}  // namespace

Place where_am_i(const bmpi::communicator& world) {
    Place p;
    p.rank = world.rank();
    p.pid = long(::getpid());
    std::array<char, 256> host{};
    ::gethostname(host.data(), host.size() - 1);
    p.host = host.data();
    std::array<char, 128> ns{};
    ssize_t len = ::readlink("/proc/self/ns/net", ns.data(), ns.size() - 1);
    p.netns = len > 0 ? std::string(ns.data(), std::size_t(len)) : "(no /proc)";
    // MPI's own answer to "who shares memory with me": the ranks Open MPI placed on this
    // rank's node. Named after the lowest rank among them.
    MPI_Comm node_raw;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, world.rank(), MPI_INFO_NULL, &node_raw);
    bmpi::communicator node(node_raw, bmpi::comm_take_ownership);
    bmpi::all_reduce(node, world.rank(), p.node, bmpi::minimum<int>());
    p.btl = open_mpi_setting("btl");
    p.pml = open_mpi_setting("pml");
    return p;
}

std::string transport(const Place& from, const Place& to) {
    if (from.rank == to.rank) return "self";
    if (from.pml == "ucx") return "UCX";
    if (from.node == to.node && allows(from.btl, "vader")) return "shared memory (vader)";
    if (allows(from.btl, "tcp")) return "TCP";
    return "? (btl " + from.btl + ")";
}

std::string seconds_text(double s) { return course::format_seconds(s); }

std::string thousands(std::uint64_t n) { return course::format_thousands(n); }

std::string bytes_text(double bytes) {
    char buf[32];
    if (bytes < 1e3) std::snprintf(buf, sizeof buf, "%.0f B", bytes);
    else if (bytes < 1e6) std::snprintf(buf, sizeof buf, "%.1f KB", bytes / 1e3);
    else std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
    return buf;
}

double thread_cpu_now() {
    rusage usage{};
    ::getrusage(RUSAGE_THREAD, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace lesson09
