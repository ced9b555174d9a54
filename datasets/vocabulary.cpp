#include "datasets/vocabulary.hpp"

#include <string>

namespace course::datasets {
namespace {

// Space-separated word lists, split once. Order matters: the generator draws by index,
// so changing a list changes every generated file (and the manifests' sha256).

constexpr std::string_view function_text =
    "the of and in to a with for was were is are by on that as from at this these which be "
    "an or between after we our their its during than not have has been both all also may can "
    "into more most other such only when while each no two three both within under over "
    "however using used these those";

constexpr std::string_view content_text =
    "analysis study results patients cells protein expression method data model system "
    "treatment effect effects group groups increase decrease level levels significant "
    "response activity role function structure performance approach network networks "
    "development evaluation measurement measurements observed associated compared higher "
    "lower novel clinical experimental theoretical proposed present current previous "
    "control controls sample samples population rate rates risk factor factors time "
    "temperature pressure concentration density energy surface interface layer layers "
    "material materials membrane tissue tissues gene genes sequence sequences mutation "
    "mutations receptor receptors enzyme enzymes binding pathway pathways signal signalling "
    "mechanism mechanisms process processes algorithm algorithms problem problems solution "
    "solutions framework architecture design implementation software hardware memory "
    "processor processors parallel distributed concurrent scheduling latency throughput "
    "bandwidth channel channels message messages protocol protocols server servers client "
    "clients request requests thread threads task tasks queue queues lock locks graph graphs "
    "tree trees vertex vertices edge edges matrix matrices vector vectors tensor operator "
    "operators equation equations function functions variable variables parameter parameters "
    "estimate estimates estimation inference likelihood probability distribution "
    "distributions regression classification clustering learning training prediction "
    "predictions accuracy precision recall benchmark benchmarks dataset datasets corpus "
    "language languages text texts word words sentence sentences semantic syntactic "
    "retrieval search query queries index indexing database databases storage compression "
    "encoding decoding image images video signal noise filter filters frequency spectrum "
    "wave waves field fields particle particles electron electrons photon photons quantum "
    "classical magnetic electric optical thermal mechanical chemical biological physical "
    "molecular atomic nuclear cellular genetic genomic metabolic immune inflammatory acute "
    "chronic severe mild moderate early late primary secondary positive negative normal "
    "abnormal healthy disease diseases disorder disorders syndrome infection infections "
    "virus viruses bacteria bacterial viral tumor tumors cancer carcinoma lesion lesions "
    "therapy therapies drug drugs dose doses administration outcome outcomes mortality "
    "survival incidence prevalence cohort trial trials randomized prospective retrospective "
    "children adults women men infants elderly subjects volunteers participants hospital "
    "care surgery surgical diagnosis diagnostic screening imaging blood plasma serum urine "
    "liver kidney heart brain lung bone muscle skin eye eyes retina cortex neurons neuronal "
    "synaptic plasticity memory attention behavior behaviour cognitive motor sensory visual "
    "auditory species plant plants soil water air climate ocean forest growth yield crop "
    "crops seed seeds leaf leaves root roots fungal strain strains culture cultures medium "
    "acid acids amino peptide peptides lipid lipids glucose insulin hormone hormones "
    "antibody antibodies antigen antigens vaccine vaccines mice rats animal animals model "
    "models simulation simulations experiment experiments measurement observation "
    "observations theory theories hypothesis evidence finding findings conclusion "
    "conclusions method methods technique techniques procedure procedures tool tools "
    "instrument instruments sensor sensors device devices circuit circuits voltage current "
    "power efficiency loss gain stability robustness reliability safety security privacy "
    "attack attacks defense verification validation testing test tests error errors fault "
    "faults failure failures recovery consistency replication partition partitions cluster "
    "clusters node nodes cloud grid workload workloads cost costs budget market markets "
    "price prices economic economy policy policies social public health education students "
    "teachers school schools program programs intervention interventions community survey "
    "surveys interview interviews questionnaire quality quantity scale scales dimension "
    "dimensions space spaces region regions area areas boundary boundaries flow flows "
    "velocity turbulence viscosity fluid fluids solid solids crystal crystals polymer "
    "polymers alloy alloys metal metals oxide oxides carbon silicon graphene nanoparticles "
    "catalyst catalysts reaction reactions synthesis yield solvent solvents spectroscopy "
    "microscopy diffraction resonance emission absorption fluorescence laser lasers beam "
    "beams detector detectors galaxy galaxies star stars planet planets orbit mass masses "
    "gravity cosmic dark halo black hole radiation shows show showed demonstrate "
    "demonstrated demonstrates suggest suggests suggested indicate indicates indicated "
    "reveal revealed reveals confirm confirmed investigate investigated examine examined "
    "describe described report reported propose improve improved improves reduce reduced "
    "reduces enhance enhanced increase increased decreased induce induced inhibit inhibited "
    "regulate regulated mediate mediated require required depend depends depending obtain "
    "obtained achieve achieved achieves perform performed evaluate evaluated measure "
    "measured estimate estimated predict predicted identify identified detect detected "
    "characterize characterized determine determined compare analyze analyzed analysed "
    "develop developed apply applied consider considered provide provides provided "
    "significantly substantially slightly markedly rapidly slowly efficiently effectively "
    "respectively similarly consistently approximately previously recently currently "
    "potential possible important relevant specific general common rare large small "
    "high low long short new first second single multiple several various different "
    "similar distinct complex simple linear nonlinear dynamic static stochastic random "
    "optimal efficient scalable robust accurate sensitive selective stable unstable local "
    "global spatial temporal total mean median maximum minimum average relative absolute "
    "standard conventional alternative additional further major minor key critical "
    "essential useful effective successful consistent independent dependent available "
    "alpha-glucosidase maltose starch cDNA polypeptide homology transcription "
    "amplification residues hydrolyzes conserved cloned encoding sequenced reverse "
    "chain polymerase frame open reading fungal javanicus mucor";

// Non-ASCII (UTF-8) words and symbols as they appear in real abstracts.
constexpr std::string_view non_ascii_text =
    "naïve café façade rôle coöperation élite déjà résumé über Zürich Köln Göttingen "
    "São Paulo Bogotá Montréal Québec Malmö Århus Ångström α-helix β-sheet β-catenin "
    "γ-secretase δ-opioid κB μm μg/mL °C ±0.5 Schrödinger Poincaré Erdős–Rényi "
    "Fréchet Lévy Gödel Ærø Øresund Łódź Kraków Brno Plzeň İstanbul Reykjavík Tōkyō "
    "中国 日本 東京 Москва";

constexpr std::string_view prefixes_text =
    "neuro cardio hepato nephro osteo myo hemato immuno cyto geno proteo glyco lipo photo "
    "electro thermo hydro chemo bio micro nano macro poly oligo endo exo peri intra inter "
    "trans hyper hypo pseudo para meta neo auto iso hetero cryo radio";

constexpr std::string_view suffixes_text =
    "genesis pathy logy cyte plasty scopy toxicity lysis trophic genic kinase phosphatase "
    "receptor protein synthesis metry graphy philic static dynamics morphism taxis some "
    "plasm blast vascular cellular transferase modulation regulation ectomy itis oma "
    "genetics informatics metrics mechanics physics chemistry therapy transport signalling "
    "sensing imaging modelling";

constexpr std::string_view first_names_text =
    "M Y J A S K R D L T H C E P W G B N F "
    "Wende Barbara Judith Maria Anna John David Michael Sarah Laura James Robert Linda "
    "Thomas Daniel Emily Hannah Peter Paul Mark Susan Karen Nancy Helen Kevin Brian "
    "Jennifer Elizabeth William Richard Charles Joseph Christopher Matthew Andrew Steven "
    "Wei Li Jing Xin Hui Yan Hiroshi Takashi Yuki Kenji Min-jun Seo-yeon Ravi Priya "
    "Anil Sunita Ahmed Fatima Omar Leila Mehmet Ayşe Olga Ivan Dmitri Natasha Sven Ingrid "
    "Lars Anja Klaus Jürgen Jörg Günter Renée François Zoë Chloé Hélène José Iñigo "
    "María Ramón Joaquín João Conceição Søren Bjørn Åsa Łukasz Małgorzata Jiří Tomáš "
    "Ülkü Dũng Ngọc Thắng Eoin Siobhán Aoife Zsófia Ágnes Gábor";

constexpr std::string_view last_names_text =
    "Sugimoto Suzuki Oberg Grams Gooch Landers Toth Semple Morse Smith Johnson Williams "
    "Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson Thompson "
    "White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green Baker "
    "Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker "
    "Collins Edwards Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey "
    "Kelly Howard Chen Wang Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin "
    "Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Kim Lee Park Choi Jung Kang "
    "Patel Sharma Singh Kumar Gupta Das Rao Reddy Khan Ali Hassan Ivanov Petrov Smirnov "
    "Kuznetsov Novak Horvat Kowalski Nowak Schmidt Schneider Fischer Weber Meyer Wagner "
    "Becker Schulz Hoffmann Koch Richter Klein Wolf Neumann Rossi Russo Ferrari Esposito "
    "Bianchi Romano Colombo Ricci Garcia Martinez Rodriguez Lopez Gonzalez Perez Dubois "
    "Durand Lefebvre Moreau Laurent Simon Michel Jansen Visser Bakker Nielsen Hansen "
    "Andersen Larsen Johansson Karlsson Nilsson Eriksson Virtanen Korhonen "
    "Müller Gödel Schrödinger Böhm Krüger Würth García Núñez Sánchez Fernández Jiménez "
    "Peña Muñoz Gonçalves Conceição Østergaard Sørensen Ångström Björk Dvořák Černý "
    "Wiśniewski Wójcik Łukaszewicz Erdős Szabó Kovács Çelik Yılmaz Öztürk Şahin "
    "Nguyễn Trần Lê Phạm Ó Briain Ní Dhomhnaill Ørsted Aalto Hämäläinen";

constexpr std::string_view entity_text =
    "Amino Acid Sequence|Amino Acids|Polymerase Chain Reaction|Gene Expression|"
    "Molecular Mass|Open Reading Frames|Polypeptides|Reverse Transcription|Starch|Maltose|"
    "Homologous Gene|Neoplasms|Mice, Inbred C57BL|Rats, Sprague-Dawley|Cell Line, Tumor|"
    "Signal Transduction|Protein Binding|Mutation|Phosphorylation|Apoptosis|Inflammation|"
    "Cerebral Palsy|Retinopathy of Prematurity|Laser Coagulation|Infant, Premature|"
    "Diabetes Mellitus, Type 2|Hypertension|Obesity|Body Mass Index|Risk Factors|"
    "Prospective Studies|Retrospective Studies|Treatment Outcome|Follow-Up Studies|"
    "Questionnaires|Magnetic Resonance Imaging|Tomography, X-Ray Computed|Ultrasonography|"
    "Algorithm|Computer Simulation|Machine Learning|Deep Learning|Neural Networks|"
    "Parallel Computing|Distributed Computing|Cloud Computing|Throughput|Latency (Audio)|"
    "Scheduling (Computing)|Concurrency (Computer Science)|Mutual Exclusion|Deadlock|"
    "Message Passing Interface|Graphics Processing Unit|Cache (Computing)|Benchmark (Computing)|"
    "Database|Information Retrieval|Natural Language Processing|Word Embedding|Tokenization|"
    "Semantic Scholar|Citation Analysis|Bibliometrics|Compression|Gzip|JSON|"
    "Quantum Mechanics|Spectroscopy|Microscopy, Electron|X-Ray Diffraction|Graphene|"
    "Nanoparticles|Catalysis|Polymers|Thermodynamics|Fluid Dynamics|Turbulence|"
    "Galaxies|Dark Matter|Black Hole|Climate Change|Soil|Crops, Agricultural|"
    "Schrödinger Equation|Erdős–Rényi Model|Ångström|Gödel's Incompleteness Theorems|"
    "Müller Cells|β-Catenin|α-Helix|NF-κB|São Paulo|Zürich";

constexpr std::string_view journal_text =
    "Journal of biochemistry|Nature|Science|The Lancet|PloS one|Cell|"
    "Physical review letters|Physical Review B|Journal of the American Chemical Society|"
    "Proceedings of the National Academy of Sciences of the United States of America|"
    "The New England journal of medicine|BMJ|JAMA|Pediatrics|Ophthalmology|"
    "Journal of neuroscience|Neuron|Brain research|Biochemistry|FEBS letters|"
    "Journal of biological chemistry|Nucleic acids research|Bioinformatics|"
    "IEEE Transactions on Parallel and Distributed Systems|Communications of the ACM|"
    "Journal of Parallel and Distributed Computing|ACM Computing Surveys|"
    "Concurrency and Computation: Practice and Experience|Information Sciences|"
    "Astrophysical Journal|Monthly Notices of the Royal Astronomical Society|"
    "Journal of Applied Physics|Applied Physics Letters|Langmuir|Macromolecules|"
    "Revue d'épidémiologie et de santé publique|Zeitschrift für Naturforschung|"
    "Ärzteblatt|Medicina clínica|Tidsskrift for Den norske lægeforening|"
    "American journal of physical medicine & rehabilitation|Developmental medicine and child neurology";

constexpr std::string_view conference_text =
    "ICML|NeurIPS|ACL|EMNLP|SIGMOD Conference|VLDB|PPoPP|SC|IPDPS|EuroSys|OSDI|SOSP|"
    "USENIX Annual Technical Conference|PLDI|CHI|KDD|WWW|ICSE|Euro-Par|HPDC";

void split(std::string_view text, char sep, std::vector<std::string_view>& out) {
    while (!text.empty()) {
        auto cut = text.find(sep);
        auto word = text.substr(0, cut);
        if (!word.empty()) out.push_back(word);
        if (cut == std::string_view::npos) break;
        text.remove_prefix(cut + 1);
    }
}

Vocabulary build() {
    Vocabulary v;
    split(function_text, ' ', v.function_words);
    split(content_text, ' ', v.content_words);
    split(non_ascii_text, ' ', v.content_words);
    // Technical compounds (neurogenesis, immunoregulation, ...): a few thousand words
    // from two short lists. The strings live in a static vector reserved up front, so
    // the views into them stay valid.
    std::vector<std::string_view> prefixes, suffixes;
    split(prefixes_text, ' ', prefixes);
    split(suffixes_text, ' ', suffixes);
    static std::vector<std::string> compounds;
    compounds.reserve(prefixes.size() * suffixes.size());
    for (auto p : prefixes)
        for (auto s : suffixes) compounds.push_back(std::string(p) + std::string(s));
    for (auto& c : compounds) v.content_words.push_back(c);
    split(entity_text, '|', v.entities);
    split(first_names_text, ' ', v.first_names);
    split(last_names_text, ' ', v.last_names);
    split(journal_text, '|', v.journals);
    split(conference_text, '|', v.conferences);
    return v;
}

}  // namespace

const Vocabulary& vocabulary() {
    static const Vocabulary words = build();
    return words;
}

}  // namespace course::datasets
