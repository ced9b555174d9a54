// Placeholder: the lesson is being written.
#include <boost/mpi.hpp>
#include "mpi.hpp"
int main(int argc, char** argv) { boost::mpi::environment env(argc, argv); return 0; }
