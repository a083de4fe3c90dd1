package data

// RaviMiniImageNetClasses is the class split of mini-ImageNet that Ravi &
// Larochelle ("Optimization as a Model for Few-Shot Learning", ICLR 2017)
// published and the few-shot literature since uses (MAML, Prototypical
// Networks, Relation Networks...): 64 training, 16 validation and 20 test
// classes of ImageNet, 600 images each. These are the WordNet ids of the
// label column of data/miniImagenet/{train,val,test}.csv in
// github.com/twitter/meta-learning-lstm (added in commit af4c58a3,
// February 2017), in the files' order, which is sorted.
// (Vinyals et al. 2016, who defined mini-ImageNet, used another split of
// 80 training and 20 test classes, which they did not publish.)
var RaviMiniImageNetClasses = ClassSplit{
	Train: []string{
		"n01532829", "n01558993", "n01704323", "n01749939", "n01770081", "n01843383", "n01910747", "n02074367",
		"n02089867", "n02091831", "n02101006", "n02105505", "n02108089", "n02108551", "n02108915", "n02111277",
		"n02113712", "n02120079", "n02165456", "n02457408", "n02606052", "n02687172", "n02747177", "n02795169",
		"n02823428", "n02966193", "n03017168", "n03047690", "n03062245", "n03207743", "n03220513", "n03337140",
		"n03347037", "n03400231", "n03476684", "n03527444", "n03676483", "n03838899", "n03854065", "n03888605",
		"n03908618", "n03924679", "n03998194", "n04067472", "n04243546", "n04251144", "n04258138", "n04275548",
		"n04296562", "n04389033", "n04435653", "n04443257", "n04509417", "n04515003", "n04596742", "n04604644",
		"n04612504", "n06794110", "n07584110", "n07697537", "n07747607", "n09246464", "n13054560", "n13133613",
	},
	Valid: []string{
		"n01855672", "n02091244", "n02114548", "n02138441", "n02174001", "n02950826", "n02971356", "n02981792",
		"n03075370", "n03417042", "n03535780", "n03584254", "n03770439", "n03773504", "n03980874", "n09256479",
	},
	Test: []string{
		"n01930112", "n01981276", "n02099601", "n02110063", "n02110341", "n02116738", "n02129165", "n02219486",
		"n02443484", "n02871525", "n03127925", "n03146219", "n03272010", "n03544143", "n03775546", "n04146614",
		"n04149813", "n04418357", "n04522168", "n07613480",
	},
}

// RaviMiniImageNetCSVSHA256 holds the SHA-256 of each of Ravi &
// Larochelle's three CSV files, byte for byte as that commit of
// github.com/twitter/meta-learning-lstm holds them (header
// "filename,label", one row per image, Unix line ends). The authors
// publish no checksums; these are computed from their files. Copies of
// mini-ImageNet that ship the split unchanged have these files;
// LoadMiniImageNet reports whether a copy does (MiniImageNet.RaviCSVs),
// and scripts/download_miniimagenet.sh checks them.
var RaviMiniImageNetCSVSHA256 = map[string]string{
	"train.csv": "498519cd8e49ce97ed26a4a3638966698ae41ab35e9c68538319fc9b46ba7d2f",
	"val.csv":   "5658a59921ca027ee76af92949869c5d6f41d77592ff3b18db325a9d10c893b9",
	"test.csv":  "2b7cfa78342995761a572a8158e539bc4e0a80f9bbd7d00c1e17a460fbbb93fa",
}

// MiniImageNetImagesPerClass is how many images every class of
// mini-ImageNet has (Vinyals et al. 2016; Ravi & Larochelle's CSVs list
// 600 of each class).
const MiniImageNetImagesPerClass = 600
