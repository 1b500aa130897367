/**
 * The mock meeting's own code (/embed): what a meeting app writes around the widget. It only listens for the
 * widget's `reaction` events, puts them in the meeting's feed and shows them on the participant's tile.
 */

const feed = document.getElementById('feed');
const tileReaction = document.getElementById('your-reaction');

document.addEventListener('reaction', ({detail}) => {
  const item = document.createElement('li');
  const emoji = document.createElement('span');
  emoji.className = 'feed-emoji';
  emoji.textContent = detail.emoji;
  item.append(emoji, ` You · ${new Date().toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})}`);
  feed.prepend(item);
  document.getElementById('feed-empty').hidden = true;

  tileReaction.textContent = detail.emoji;
  tileReaction.classList.remove('shown');
  void tileReaction.offsetWidth; // restart the animation for a reaction that follows another
  tileReaction.classList.add('shown');
});
